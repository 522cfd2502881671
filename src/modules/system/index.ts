export { type ContractDocuments, loadContractDocuments } from './contract-documents';
export { systemHandlers } from './handlers';
export { SystemService } from './system-service';
