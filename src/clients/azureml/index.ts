// Public surface of the Azure ML client: the rest of the code imports from here only.
export {
  AzureMlClient,
  forEachLimit,
  PRODUCTION_POINTER_PREFIX,
  scopePath,
  type AzureMlClientOptions,
  type ListVersionsOptions,
  type PendingUpload,
  type ProductionModel,
  type ProductionPointer,
  type TaggedVersion,
} from './azureml-client.js';
export { BlobArtifactStore, type BlobArtifactStoreOptions, type BlobCredential, type DownloadResult } from './artifact-store.js';
export { sha256OfFile, uploadArtifactIfChanged, type UploadArtifactOptions, type UploadArtifactResult } from './blob-upload.js';
export { formatTagFilter, matchesTagFilter, type TagFilter } from './tag-filter.js';
export * from './types.js';
export {
  OnlineEndpointsClient,
  type AssetKind,
  type CodeVersionBody,
  type EnvironmentVersionBody,
  type ModelVersionBody,
  type OnlineDeploymentBody,
  type OnlineEndpointBody,
  type OnlineEndpointsClientOptions,
  type OnlineResource,
} from './online-endpoints.js';
