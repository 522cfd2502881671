export { systemHandlers } from './handlers';
export { type ContractDocuments, loadContractDocuments } from './contract-documents';
export { SystemService } from './system-service';
