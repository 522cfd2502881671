import { createImageRegistryCredential } from './createImageRegistryCredential';
import { deleteImageRegistryCredential } from './deleteImageRegistryCredential';
import { getImageScan } from './getImageScan';
import { getImageScanReport } from './getImageScanReport';
import { listImageRegistryCredentials } from './listImageRegistryCredentials';
import { listImages } from './listImages';
import { scanImage } from './scanImage';

export const imagesHandlers = {
  listImages,
  scanImage,
  getImageScanReport,
  getImageScan,
  listImageRegistryCredentials,
  createImageRegistryCredential,
  deleteImageRegistryCredential,
};
