/**
 * Types for the parts of the `rocksdb` package (v5, abstract-leveldown
 * callback API) that the RocksDB engine uses; the package ships none.
 */
declare module 'rocksdb' {
  type Callback<T = void> = (err: Error | undefined | null, result?: T) => void;

  interface OpenOptions {
    createIfMissing?: boolean;
    errorIfExists?: boolean;
    compression?: boolean;
    cacheSize?: number;
    writeBufferSize?: number;
    maxOpenFiles?: number;
    infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header';
    readOnly?: boolean;
  }

  interface ChainedBatch {
    put(key: Buffer, value: Buffer): ChainedBatch;
    del(key: Buffer): ChainedBatch;
    write(options: { sync?: boolean }, callback: (err?: Error | null) => void): void;
  }

  interface IteratorOptions {
    gte?: Buffer;
    lt?: Buffer;
    limit?: number;
    keys?: boolean;
    values?: boolean;
    keyAsBuffer?: boolean;
    valueAsBuffer?: boolean;
    highWaterMark?: number;
  }

  interface RocksIterator {
    next(callback: (err: Error | undefined | null, key?: Buffer, value?: Buffer) => void): void;
    end(callback: (err?: Error | null) => void): void;
  }

  interface RocksDB {
    readonly status: string;
    open(options: OpenOptions, callback: (err?: Error | null) => void): void;
    close(callback: (err?: Error | null) => void): void;
    get(key: Buffer, options: { asBuffer: true; fillCache?: boolean }, callback: Callback<Buffer>): void;
    getMany(keys: Buffer[], options: { asBuffer: true }, callback: Callback<(Buffer | undefined)[]>): void;
    /** Atomic when written: every put and del of the batch, or none. */
    batch(): ChainedBatch;
    iterator(options: IteratorOptions): RocksIterator;
    clear(options: { gte: Buffer; lt: Buffer }, callback: (err?: Error | null) => void): void;
  }

  function rocksdb(location: string): RocksDB;
  export = rocksdb;
}
