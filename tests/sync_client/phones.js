// Simulated phones: WatermelonDB's own Database, LokiJS adapter in memory, and synchronize().
'use strict'

const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const { schemaMigrations, createTable } = require('@nozbe/watermelondb/Schema/migrations')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize, hasUnsyncedChanges } = require('@nozbe/watermelondb/sync')
const diagnoseSyncConsistency = require('@nozbe/watermelondb/diagnostics/diagnoseSyncConsistency').default
const { useCustomDiagnosticErrorFunction } = require('@nozbe/watermelondb/utils/common/diagnosticError')
const logger = require('@nozbe/watermelondb/utils/common/logger').default

// Every diagnostic the client raises (e.g. "server wants client to create record ... but it
// already exists locally") is captured here so that the test can fail on it.
const diagnostics = []
useCustomDiagnosticErrorFunction((message) => {
  diagnostics.push(message)
  return new Error(message)
})
logger.silence()

// The app's schema (../shared/SYNC_SCHEMA.md): version 1, and version 2 with three more tables. The tables
// are plain specs: tableSchema() builds the schema's, createTable() the migration step's.
const V1_TABLES = [
  {
    name: 'children',
    columns: [
      { name: 'name', type: 'string' },
      { name: 'birth_date', type: 'string' },
      { name: 'gestational_weeks', type: 'number', isOptional: true },
      { name: 'sex', type: 'string', isOptional: true },
      { name: 'timezone', type: 'string' },
      { name: 'condition', type: 'string' },
      { name: 'created_at', type: 'number' },
      { name: 'updated_at', type: 'number' },
    ],
  },
  {
    name: 'episodes',
    columns: [
      { name: 'child_id', type: 'string', isIndexed: true },
      { name: 'started_at', type: 'number' },
      { name: 'duration_seconds', type: 'number' },
      { name: 'timezone', type: 'string' },
      { name: 'sleep_state', type: 'string' },
      { name: 'stopped_when_woken', type: 'string' },
      { name: 'side', type: 'string' },
      { name: 'body_parts', type: 'string' },
      { name: 'signs', type: 'string' },
      { name: 'triggers', type: 'string' },
      { name: 'jerk_count', type: 'number', isOptional: true },
      { name: 'notes', type: 'string', isOptional: true },
      { name: 'video_ref', type: 'string', isOptional: true },
      { name: 'logged_by', type: 'string' },
      { name: 'created_at', type: 'number' },
      { name: 'updated_at', type: 'number' },
    ],
  },
  {
    name: 'sleep_sessions',
    columns: [
      { name: 'child_id', type: 'string', isIndexed: true },
      { name: 'started_at', type: 'number' },
      { name: 'ended_at', type: 'number', isOptional: true },
      { name: 'kind', type: 'string' },
      { name: 'watched', type: 'boolean' },
      { name: 'notes', type: 'string', isOptional: true },
      { name: 'created_at', type: 'number' },
      { name: 'updated_at', type: 'number' },
    ],
  },
]

const V2_TABLES = [
  {
    name: 'treatments',
    columns: [
      { name: 'child_id', type: 'string', isIndexed: true },
      { name: 'name', type: 'string' },
      { name: 'kind', type: 'string' },
      { name: 'dose', type: 'string', isOptional: true },
      { name: 'started_on', type: 'string' },
      { name: 'stopped_on', type: 'string', isOptional: true },
      { name: 'notes', type: 'string', isOptional: true },
      { name: 'logged_by', type: 'string' },
      { name: 'created_at', type: 'number' },
      { name: 'updated_at', type: 'number' },
    ],
  },
  {
    name: 'development_checks',
    columns: [
      { name: 'child_id', type: 'string', isIndexed: true },
      { name: 'checked_on', type: 'string' },
      { name: 'new_skills', type: 'string' },
      { name: 'lost_skills', type: 'string' },
      { name: 'concerns', type: 'string' },
      { name: 'notes', type: 'string', isOptional: true },
      { name: 'logged_by', type: 'string' },
      { name: 'created_at', type: 'number' },
      { name: 'updated_at', type: 'number' },
    ],
  },
  {
    name: 'episode_videos',
    columns: [
      { name: 'episode_id', type: 'string', isIndexed: true },
      { name: 'child_id', type: 'string', isIndexed: true },
      { name: 'status', type: 'string' },
      { name: 'rejected_reason', type: 'string', isOptional: true },
      { name: 'content_type', type: 'string', isOptional: true },
      { name: 'size_bytes', type: 'number' },
      { name: 'duration_ms', type: 'number', isOptional: true },
      { name: 'width', type: 'number', isOptional: true },
      { name: 'height', type: 'number', isOptional: true },
      { name: 'uploaded_by', type: 'string' },
      { name: 'created_at', type: 'number' },
      { name: 'updated_at', type: 'number' },
    ],
  },
]

const TABLE_SPECS = { 1: V1_TABLES, 2: [...V1_TABLES, ...V2_TABLES] }
const schemas = {
  1: appSchema({ version: 1, tables: TABLE_SPECS[1].map(tableSchema) }),
  2: appSchema({ version: 2, tables: TABLE_SPECS[2].map(tableSchema) }),
}
// The app's migration to version 2, as WatermelonDB's docs write it: one createTable step per new table. Its
// sync sends them in `migration.tables`.
const migrations = schemaMigrations({
  migrations: [{ toVersion: 2, steps: V2_TABLES.map((table) => createTable(table)) }],
})

class Child extends Model {
  static table = 'children'
}
class Episode extends Model {
  static table = 'episodes'
}
class SleepSession extends Model {
  static table = 'sleep_sessions'
}
class Treatment extends Model {
  static table = 'treatments'
}
class DevelopmentCheck extends Model {
  static table = 'development_checks'
}
class EpisodeVideo extends Model {
  static table = 'episode_videos'
}
const MODEL_CLASSES = {
  1: [Child, Episode, SleepSession],
  2: [Child, Episode, SleepSession, Treatment, DevelopmentCheck, EpisodeVideo],
}

const TABLES = V1_TABLES.map((table) => table.name)

class Phone {
  constructor({ name, baseUrl, token, deviceId, schemaVersion = 1 }) {
    this.name = name
    this.baseUrl = baseUrl
    this.token = token
    this.deviceId = deviceId
    this.pushStatuses = []
    this.beforeNextPush = null // async hook run once before the next push leaves the phone
    this.loseNextPushReply = false // the server gets the push, the phone never hears back
    this.migrationsSent = [] // the `migration` of every pull, null but for the one after a schema migration
    this.lastPulledTables = null // the tables of the last pull's changes
    this.dbName = `${name}-${Date.now()}`
    this.open(schemaVersion)
  }

  open(schemaVersion, lokiPersistence) {
    this.schemaVersion = schemaVersion
    const adapter = new LokiJSAdapter({
      schema: schemas[schemaVersion],
      // A version-2 app ships its migrations; version 1 had none to ship.
      ...(schemaVersion > 1 ? { migrations } : {}),
      dbName: this.dbName,
      useWebWorker: false,
      useIncrementalIndexedDB: false,
      extraLokiOptions: { autosave: false },
      // The same in-memory LokiJS store as before (how the adapter's own testClone() reopens a database).
      ...(lokiPersistence ? { _testLokiAdapter: lokiPersistence } : {}),
    })
    this.adapter = adapter
    this.db = new Database({ adapter, modelClasses: MODEL_CLASSES[schemaVersion] })
  }

  get tables() {
    return TABLE_SPECS[this.schemaVersion].map((table) => table.name)
  }

  // The app updated to a newer schema: its data is saved to the in-memory LokiJS store, the database
  // closed, and opened again with the new schema and migrations, so that the adapter finds the store on
  // the old version and runs the migration steps on it (LokiJS's DatabaseDriver._migrateIfNeeded).
  async upgradeTo(schemaVersion) {
    const { loki } = this.adapter._driver
    await new Promise((resolve, reject) => loki.saveDatabase((error) => (error ? reject(error) : resolve())))
    loki.close()
    this.open(schemaVersion, loki.persistenceAdapter)
    const stored = await this.db.adapter.getLocal('_loki_schema_version')
    if (stored !== String(schemaVersion)) throw new Error(`the store is on version ${stored} after the upgrade`)
  }

  async request(method, query, body) {
    const url = `${this.baseUrl}/api/v1/sync?${query}`
    // The reference client sends the push without a Content-Type.
    return fetch(url, { method, body, headers: { Authorization: `Bearer ${this.token}` } })
  }

  pullChanges = async ({ lastPulledAt, schemaVersion, migration }) => {
    const query = `last_pulled_at=${lastPulledAt}&schema_version=${schemaVersion}` +
      `&migration=${encodeURIComponent(JSON.stringify(migration))}&device_id=${this.deviceId}`
    const response = await this.request('GET', query)
    if (!response.ok) throw new Error(`pull ${response.status}: ${await response.text()}`)
    const { changes, timestamp } = await response.json()
    this.migrationsSent.push(migration === undefined ? null : migration)
    this.lastPulledTables = Object.keys(changes).sort()
    return { changes, timestamp }
  }

  pushChanges = async ({ changes, lastPulledAt }) => {
    if (this.beforeNextPush) {
      const hook = this.beforeNextPush
      this.beforeNextPush = null
      await hook()
    }
    const response = await this.request('POST', `last_pulled_at=${lastPulledAt}&device_id=${this.deviceId}`,
      JSON.stringify(changes))
    this.pushStatuses.push(response.status)
    if (!response.ok) throw new Error(`push ${response.status}: ${await response.text()}`)
    if (this.loseNextPushReply) {
      this.loseNextPushReply = false
      throw new Error('push reply lost on the way back')
    }
  }

  // From version 2 on, the app turns migration syncs on at the first version it shipped (WatermelonDB's
  // docs, Sync/Frontend.md, "Migration syncs").
  sync = () => synchronize({ database: this.db, pullChanges: this.pullChanges, pushChanges: this.pushChanges,
    ...(this.schemaVersion > 1 ? { migrationsEnabledAtVersion: 1 } : {}) })

  // --- what a caregiver does in the app ---
  async create(table, columns) {
    let created
    await this.db.write(async () => {
      created = await this.db.get(table).create((record) => {
        for (const [column, value] of Object.entries(columns)) record._setRaw(column, value)
      })
    })
    return created.id
  }

  async edit(table, id, columns) {
    await this.db.write(async () => {
      const record = await this.db.get(table).find(id)
      await record.update((r) => {
        for (const [column, value] of Object.entries(columns)) r._setRaw(column, value)
      })
    })
  }

  async remove(table, id) {
    await this.db.write(async () => {
      const record = await this.db.get(table).find(id)
      await record.markAsDeleted()
    })
  }

  async records(table) {
    const records = await this.db.get(table).query().fetch()
    return records.map((record) => {
      const { _status, _changed, ...raw } = record._raw
      return raw
    })
  }

  async snapshot() {
    const result = {}
    for (const table of this.tables) result[table] = await this.records(table)
    return result
  }

  async hasUnsynced() {
    return hasUnsyncedChanges({ database: this.db })
  }

  async diagnose() {
    // The diagnostics want the changes alone from their pullChanges.
    const pullChanges = async (params) => (await this.pullChanges(params)).changes
    return diagnoseSyncConsistency({ db: this.db, synchronize: this.sync, pullChanges })
  }
}

module.exports = { Phone, diagnostics, TABLES }
