import type { MigrationInterface } from 'typeorm';
import { sqlMigration } from '../../src/db/migrations/sql-migration';

/** A migration class named `name` whose `up` runs the given statements in order (and `down` nothing). */
export function testMigration(name: string, statements: string[]): new () => MigrationInterface {
  return sqlMigration(name, statements, []);
}
