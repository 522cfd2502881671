/** The SDK's version: always the `info.version` of the Warden spec its types were generated from. */
export const SDK_VERSION = '0.1.0';
