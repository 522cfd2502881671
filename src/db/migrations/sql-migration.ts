import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A migration made of SQL statements: `up` runs them in order, `down` runs its own. */
export function sqlMigration(name: string, up: string[], down: string[]): new () => MigrationInterface {
  const run = async (queryRunner: QueryRunner, statements: string[]) => {
    for (const statement of statements) await queryRunner.query(statement);
  };
  return class implements MigrationInterface {
    name = name;
    up(queryRunner: QueryRunner) {
      return run(queryRunner, up);
    }
    down(queryRunner: QueryRunner) {
      return run(queryRunner, down);
    }
  };
}
