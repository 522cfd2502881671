import { sqlMigration } from './sql-migration';

/**
 * Who created each user: the person behind the login or API key that called `POST /users`. NULL
 * for a user nobody in the org made (signup's first owner, single sign-on provisioning, a key
 * made with no user) and for every user that existed before this migration. A decision on an
 * access request is refused when the approver created the requester: an admin may create
 * members, so without it they could file a request as a sock-puppet member and approve it.
 * A deleted creator decides nothing any more, so the link may go with them.
 */
export const UserCreator1733410000000 = sqlMigration(
  'UserCreator1733410000000',
  [`ALTER TABLE users ADD COLUMN created_by text REFERENCES users (id) ON DELETE SET NULL`],
  [`ALTER TABLE users DROP COLUMN created_by`],
);
