// Simulated phones: WatermelonDB's own Database, LokiJS adapter in memory, and synchronize().
'use strict'

const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
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

// The app's schema, version 1 (../shared/SYNC_SCHEMA.md).
const schema = appSchema({
  version: 1,
  tables: [
    tableSchema({
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
    }),
    tableSchema({
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
    }),
    tableSchema({
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
    }),
  ],
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

const TABLES = ['children', 'episodes', 'sleep_sessions']

class Phone {
  constructor({ name, baseUrl, token, deviceId }) {
    this.name = name
    this.baseUrl = baseUrl
    this.token = token
    this.deviceId = deviceId
    this.pushStatuses = []
    this.beforeNextPush = null // async hook run once before the next push leaves the phone
    this.loseNextPushReply = false // the server gets the push, the phone never hears back
    const adapter = new LokiJSAdapter({
      schema,
      dbName: `${name}-${Date.now()}`,
      useWebWorker: false,
      useIncrementalIndexedDB: false,
      extraLokiOptions: { autosave: false },
    })
    this.db = new Database({ adapter, modelClasses: [Child, Episode, SleepSession] })
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

  sync = () => synchronize({ database: this.db, pullChanges: this.pullChanges, pushChanges: this.pushChanges })

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
    for (const table of TABLES) result[table] = await this.records(table)
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
