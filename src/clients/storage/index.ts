// Public surface of the blob storage helpers shared by the Azure clients.
export { BlobFiles, type BlobFilesCredential, type BlobFilesOptions } from './blob-files.js';
export { storageError } from './storage-error.js';
export { asTokenCredential } from './token-credential.js';
