/**
 * Refusals of the model registry: a version that does not exist or cannot
 * take a status, and artifacts whose bytes do not match the sha256 their
 * version names or whose URI is outside the artifacts root. Every reader
 * (the registry, the indexer, the responders, the ONNX sessions) refuses
 * such an artifact the same way.
 *
 * @example
 * ```ts
 * throw new ModelRegistryError(`no model version ${version}`);
 * ```
 */
import { RecstreamError } from '../runtime/errors.js';

/** A model-registry request names a version that does not exist or cannot take that status. */
export class ModelRegistryError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'MODEL_REGISTRY' });
  }
}

/** An artifact is missing or its bytes do not match the sha256 its version names. */
export class ArtifactIntegrityError extends RecstreamError {
  constructor(message: string, cause?: unknown, code = 'ARTIFACT_INTEGRITY') {
    super(message, { code, cause });
  }
}

/**
 * An artifact URI from a topic names a file outside the artifacts root (a
 * `..`, a symlink out, another path altogether) or is not a `file://` URI:
 * the version that names it is refused, nothing outside the root is read.
 * An `ArtifactIntegrityError`, so every reader refuses it as it refuses a
 * file that does not verify.
 */
export class ArtifactUriError extends ArtifactIntegrityError {
  constructor(message: string) {
    super(message, undefined, 'ARTIFACT_URI_OUTSIDE_ROOT');
  }
}
