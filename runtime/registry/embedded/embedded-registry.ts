/**
 * The embedded schema registry: Confluent's model (global ids, versioned
 * subjects, compatibility levels) kept in one crash-safe file under
 * `<dataDir>/registry/`. Several processes on one machine may open the same
 * data dir: writes are serialised by a file lock, and a reader that meets an
 * id or version it does not know re-reads the file.
 *
 * @example
 * ```ts
 * const registry = await openEmbeddedRegistry({ dataDir: './data' });
 * const id = await registry.register('rec.users-value', loadSchema('rec.users-value'));
 * await registry.setCompatibility('rec.users-value', 'FULL');
 * ```
 */
import { join } from 'node:path';
import { IncompatibleSchemaError, SchemaNotFoundError, StorageError } from '../../errors.js';
import { type AvroType, parseAvroType, schemaText } from '../../serde/avro.js';
import { compatibilityMessages, fieldOfMessage } from '../compatibility.js';
import type {
  CompatibilityLevel,
  CompatibilityReport,
  SchemaInput,
  SchemaRegistry,
  SubjectVersion,
} from '../registry.js';
import { RegistryFile } from './registry-file.js';
import { idOfText, type RegistryState } from './state.js';

export interface EmbeddedRegistryOptions {
  /** The data dir; the registry lives in its `registry/` folder. */
  readonly dataDir: string;
  /**
   * Open for reading only (tools beside a running process): the folder is
   * neither created nor tidied, and anything that would change the file
   * (registering a new schema, setting a level) fails with StorageError.
   * Looking up or re-registering a schema that is already there works.
   */
  readonly readOnly?: boolean;
}

/**
 * Opens (creating when needed) the registry in `<dataDir>/registry/`.
 *
 * @example
 * ```ts
 * const registry = await openEmbeddedRegistry({ dataDir: process.env.RECSTREAM_DATA_DIR ?? './data' });
 * ```
 */
export async function openEmbeddedRegistry(
  options: EmbeddedRegistryOptions,
): Promise<EmbeddedSchemaRegistry> {
  const file = new RegistryFile(join(options.dataDir, 'registry'));
  if (options.readOnly) return new EmbeddedSchemaRegistry(file, true);
  await file.init();
  return new EmbeddedSchemaRegistry(file);
}

export class EmbeddedSchemaRegistry implements SchemaRegistry {
  // Schema texts never change once an id is handed out, so parsed types are cached for good.
  private readonly types = new Map<number, AvroType>();
  private lastState: RegistryState | undefined;
  private closed = false;

  /** Use openEmbeddedRegistry, which prepares the directory. */
  constructor(
    private readonly file: RegistryFile,
    private readonly readOnly = false,
  ) {}

  async register(subject: string, schema: SchemaInput): Promise<number> {
    const text = schemaText(schema);
    const type = parseAvroType(text);
    const known = versionOfText(await this.state(), subject, text);
    if (known !== undefined) return known.id;
    this.assertWritable(`register a schema under ${subject}`);
    return this.file.update((draft) => {
      const existing = versionOfText(draft, subject, text);
      if (existing !== undefined) return existing.id;
      const messages = this.messagesFor(draft, subject, type);
      if (messages.length > 0)
        throw new IncompatibleSchemaError(messages.join('; '), fieldOfMessage(messages[0]!));
      let id = idOfText(draft, text);
      if (id === undefined) {
        draft.schemas.push(text);
        id = draft.schemas.length;
      }
      draft.subjects[subject] ??= [];
      draft.subjects[subject].push(id);
      return id;
    });
  }

  async lookup(subject: string, schema: SchemaInput): Promise<SubjectVersion | undefined> {
    return versionOfText(await this.state(), subject, schemaText(schema));
  }

  async getById(id: number): Promise<string> {
    // Ids are immutable, so the copy read last answers unless the id is newer than it.
    const text = (await this.state(false)).schemas[id - 1] ?? (await this.state()).schemas[id - 1];
    if (text === undefined) {
      throw new SchemaNotFoundError(`schema id ${id} is not in the registry`, 'schema');
    }
    return text;
  }

  async getLatest(subject: string): Promise<SubjectVersion> {
    const state = await this.state();
    const ids = idsOf(state, subject);
    return subjectVersion(state, subject, ids.length);
  }

  async getVersion(subject: string, version: number): Promise<SubjectVersion> {
    const state = await this.state();
    const ids = idsOf(state, subject);
    if (!Number.isInteger(version) || version < 1 || version > ids.length) {
      throw new SchemaNotFoundError(
        `subject '${subject}' has no version ${version} (it has versions 1 to ${ids.length})`,
        'version',
      );
    }
    return subjectVersion(state, subject, version);
  }

  async listSubjects(): Promise<string[]> {
    const state = await this.state();
    return Object.keys(state.subjects)
      .filter((s) => state.subjects[s]!.length > 0)
      .sort();
  }

  async listVersions(subject: string): Promise<number[]> {
    return idsOf(await this.state(), subject).map((_, i) => i + 1);
  }

  async getCompatibility(subject: string): Promise<CompatibilityLevel> {
    const state = await this.state();
    return state.compatibility[subject] ?? state.defaultCompatibility;
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    this.assertWritable(`set the compatibility of ${subject}`);
    await this.file.update((draft) => {
      draft.compatibility[subject] = level;
    });
  }

  async getDefaultCompatibility(): Promise<CompatibilityLevel> {
    return (await this.state()).defaultCompatibility;
  }

  async setDefaultCompatibility(level: CompatibilityLevel): Promise<void> {
    this.assertWritable('set the default compatibility');
    await this.file.update((draft) => {
      draft.defaultCompatibility = level;
    });
  }

  async checkCompatibility(subject: string, schema: SchemaInput): Promise<CompatibilityReport> {
    const text = schemaText(schema);
    const type = parseAvroType(text);
    const state = await this.state();
    if (versionOfText(state, subject, text) !== undefined) return { compatible: true, messages: [] };
    const messages = this.messagesFor(state, subject, type);
    return { compatible: messages.length === 0, messages };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertWritable(action: string): void {
    if (this.readOnly)
      throw new StorageError(
        `cannot ${action}: the schema registry in ${this.file.dir} was opened read-only`,
      );
  }

  /** The registry file's current content; `fresh: false` accepts the copy read last. */
  private async state(fresh = true): Promise<RegistryState> {
    if (this.closed) throw new StorageError('the schema registry was closed');
    if (fresh || this.lastState === undefined) this.lastState = await this.file.current();
    return this.lastState;
  }

  private messagesFor(state: RegistryState, subject: string, candidate: AvroType): string[] {
    const ids = state.subjects[subject] ?? [];
    return compatibilityMessages({
      subject,
      level: state.compatibility[subject] ?? state.defaultCompatibility,
      candidate: { version: ids.length + 1, type: candidate },
      previous: ids.map((id, i) => ({ version: i + 1, type: this.typeOf(state, id) })),
    });
  }

  private typeOf(state: RegistryState, id: number): AvroType {
    let type = this.types.get(id);
    if (type === undefined) {
      type = parseAvroType(state.schemas[id - 1]!, `schema id ${id}`);
      this.types.set(id, type);
    }
    return type;
  }
}

function idsOf(state: RegistryState, subject: string): number[] {
  const ids = state.subjects[subject];
  if (ids === undefined || ids.length === 0) {
    throw new SchemaNotFoundError(`subject '${subject}' is not in the registry`, 'subject');
  }
  return ids;
}

function subjectVersion(state: RegistryState, subject: string, version: number): SubjectVersion {
  const id = state.subjects[subject]![version - 1]!;
  return { subject, version, id, schema: state.schemas[id - 1]! };
}

function versionOfText(state: RegistryState, subject: string, text: string): SubjectVersion | undefined {
  const id = idOfText(state, text);
  if (id === undefined) return undefined;
  const index = (state.subjects[subject] ?? []).indexOf(id);
  return index < 0 ? undefined : { subject, version: index + 1, id, schema: text };
}
