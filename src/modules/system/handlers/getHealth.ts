import type { Handler } from '../../handler';

export const getHealth: Handler<'getHealth'> = () => ({ status: 200, body: { status: 'ok' } });
