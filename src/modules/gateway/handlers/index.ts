import { gatewayDelete } from './gatewayDelete';
import { gatewayGet } from './gatewayGet';
import { gatewayPatch } from './gatewayPatch';
import { gatewayPost } from './gatewayPost';
import { gatewayPut } from './gatewayPut';

export const gatewayHandlers = { gatewayGet, gatewayPost, gatewayPut, gatewayPatch, gatewayDelete };
