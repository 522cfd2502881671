import { PERMISSION_CATALOG } from '../../../auth/permissions';
import type { Handler } from '../../handler';

export const listPermissions: Handler<'listPermissions'> = () => ({
  status: 200,
  body: { permissions: [...PERMISSION_CATALOG] },
  headers: { 'Cache-Control': 'private, max-age=300' },
});
