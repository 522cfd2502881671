import type { Handler } from '../../handler';

export const getDocs: Handler<'getDocs'> = ({ services }) => ({ status: 200, body: services.contract.docsHtml });
