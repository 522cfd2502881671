import { createVendor } from './createVendor';
import { deleteVendor } from './deleteVendor';
import { getVendor } from './getVendor';
import { listVendors } from './listVendors';
import { rotateVendorCredential } from './rotateVendorCredential';
import { updateVendor } from './updateVendor';

export const vendorsHandlers = {
  createVendor,
  listVendors,
  getVendor,
  updateVendor,
  deleteVendor,
  rotateVendorCredential,
};
