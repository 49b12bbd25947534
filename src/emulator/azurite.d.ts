/** Azurite ships no type declarations; these cover the deep-required BlobServer API the emulator uses (notes §4.6). */
declare module 'azurite/dist/src/blob/BlobServer.js' {
  export default class BlobServer {
    constructor(configuration: unknown)
    start(): Promise<void>
    close(): Promise<void>
    clean(): Promise<void>
    getHttpServerAddress(): string
  }
}

declare module 'azurite/dist/src/blob/BlobConfiguration.js' {
  export default class BlobConfiguration {
    constructor(
      host?: string,
      port?: number,
      keepAliveTimeout?: number,
      metadataDBPath?: string,
      extentDBPath?: string,
      persistencePathArray?: Array<{locationId: string; locationPath: string; maxConcurrency: number}>,
      enableAccessLog?: boolean,
      accessLogWriteStream?: unknown,
      enableDebugLog?: boolean,
      debugLogFilePath?: string,
      loose?: boolean,
      skipApiVersionCheck?: boolean,
      cert?: string,
      key?: string,
      pwd?: string,
      oauth?: string,
      disableProductStyleUrl?: boolean,
      isMemoryPersistence?: boolean,
      memoryStore?: unknown,
    )
  }
}
