import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A migration class named `name` whose `up` runs the given statements in order. */
export function testMigration(name: string, statements: string[]): new () => MigrationInterface {
  return class implements MigrationInterface {
    name = name;
    async up(queryRunner: QueryRunner) {
      for (const statement of statements) await queryRunner.query(statement);
    }
    async down() {}
  };
}
