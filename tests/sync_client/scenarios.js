// Two parents, two phones, one child: the sync scenarios of issue 3, run with WatermelonDB's
// own synchronize() against the real server. Writes a JSON report for tests/test_sync_client.py.
// Then (issue 19) dad's phone updates the app to schema version 2 and gets the episode's videos, which
// the test uploads and processes when asked (askPython); mum's phone stays on version 1 until (issue 20)
// it updates too, and both phones keep the child's treatments and development checks.
'use strict'

const fs = require('fs')
const readline = require('readline')
const { Phone, diagnostics, TABLES } = require('./phones')

const config = JSON.parse(process.env.MYODIARY_SYNC_CONFIG)
const HOUR = 3600 * 1000
const DAY = 24 * HOUR
const now = Date.now()

// A calendar date (YYYY-MM-DD) some days before today, or after the birth. UTC dates: the child lives in
// Europe/Berlin, ahead of UTC, so a UTC date of the past is never in the child's future.
function daysAgo(days) {
  return new Date(now - days * DAY).toISOString().slice(0, 10)
}
function daysAfterBirth(days) {
  return new Date(Date.parse(`${config.birthDate}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10)
}

const mum = new Phone({ name: 'mum', baseUrl: config.baseUrl, token: config.mumToken, deviceId: 'mumphone0001' })
const dad = new Phone({ name: 'dad', baseUrl: config.baseUrl, token: config.dadToken, deviceId: 'dadphone0001' })

function episode(overrides = {}) {
  return {
    child_id: config.childId, started_at: now - 20 * HOUR, duration_seconds: 40, timezone: 'Europe/Berlin',
    sleep_state: 'asleep', stopped_when_woken: 'yes', side: 'both', body_parts: '["arms","legs"]',
    signs: '[]', triggers: '["fatigue"]', jerk_count: 10, notes: null, video_ref: null,
    ...overrides,
  }
}

function treatment(overrides = {}) {
  return {
    child_id: config.childId, name: 'phenobarbital', kind: 'antiseizure_medication', dose: '5 mg/kg/day',
    started_on: daysAgo(7), stopped_on: null, notes: null, ...overrides,
  }
}

function developmentCheck(overrides = {}) {
  return {
    child_id: config.childId, checked_on: daysAfterBirth(28), new_skills: 'yes', lost_skills: 'no', concerns: '[]',
    notes: null, ...overrides,
  }
}

async function find(phone, table, id) {
  return (await phone.records(table)).find((record) => record.id === id)
}

// What the phones cannot do themselves (the test's side: tus uploads, the scheduler's video job): one JSON
// line out on stdout, one JSON line back on stdin.
const answers = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
async function askPython(request) {
  process.stdout.write(`ASK ${JSON.stringify(request)}\n`)
  const { value, done } = await answers.next()
  if (done) throw new Error(`no answer to ${JSON.stringify(request)}`)
  return JSON.parse(value)
}

const scenarios = {
  async offline_logging_then_sync() {
    // At 3 a.m., offline: a night's sleep and three episodes, then the phone syncs later.
    await mum.create('sleep_sessions', { child_id: config.childId, started_at: now - 30 * HOUR,
      ended_at: now - 19 * HOUR, kind: 'night', watched: true, notes: null })
    for (const hours of [26, 24, 21]) await mum.create('episodes', episode({ started_at: now - hours * HOUR }))
    await mum.sync()
    await dad.sync()
    return { dad_episodes: (await dad.records('episodes')).length }
  },

  async edit_and_delete_propagate() {
    const [first, second] = await dad.records('episodes')
    await dad.edit('episodes', first.id, { notes: 'stopped when we picked her up' })
    await dad.remove('episodes', second.id)
    await dad.sync()
    await mum.sync()
    const edited = await find(mum, 'episodes', first.id)
    return { notes_on_mum: edited && edited.notes, deleted_still_on_mum: Boolean(await find(mum, 'episodes', second.id)) }
  },

  async conflict_then_retry_keeps_both_edits() {
    const [target] = await mum.records('episodes')
    await mum.edit('episodes', target.id, { side: 'left' })
    await dad.edit('episodes', target.id, { jerk_count: 25 })
    // Mum's phone syncs just after dad's pulled and before his push lands: his push is a 409.
    dad.beforeNextPush = () => mum.sync()
    let firstError = null
    try {
      await dad.sync()
    } catch (error) {
      firstError = String(error.message)
    }
    await dad.sync() // the docs' advice: synchronize again (pull, merge per column, push)
    await mum.sync()
    const merged = await find(mum, 'episodes', target.id)
    return { first_error: firstError, dad_push_statuses: dad.pushStatuses.slice(-2), side: merged.side, jerk_count: merged.jerk_count }
  },

  async lost_reply_then_repeated_push() {
    const id = await mum.create('episodes', episode({ started_at: now - 3 * HOUR, notes: 'reply lost' }))
    mum.loseNextPushReply = true
    let firstError = null
    try {
      await mum.sync()
    } catch (error) {
      firstError = String(error.message)
    }
    await mum.sync()
    await dad.sync()
    return { first_error: firstError, id, dad_copies: (await dad.records('episodes')).filter((r) => r.id === id).length }
  },

  async delete_while_the_other_phone_edits_offline() {
    const id = await mum.create('episodes', episode({ started_at: now - 2 * HOUR }))
    await mum.sync()
    await dad.sync()
    await mum.remove('episodes', id)
    await dad.edit('episodes', id, { notes: 'edited offline' })
    await mum.sync()
    await dad.sync()
    return { id, on_mum: Boolean(await find(mum, 'episodes', id)), on_dad: Boolean(await find(dad, 'episodes', id)) }
  },

  async edit_offline_while_the_other_phone_deletes_later() {
    const id = await dad.create('episodes', episode({ started_at: now - HOUR }))
    await dad.sync()
    await mum.sync()
    await dad.edit('episodes', id, { side: 'right' })
    await mum.remove('episodes', id)
    await dad.sync() // the edit reaches the server first
    await mum.sync() // then the delete, from a phone that had not seen the edit
    await dad.sync()
    return { id, on_mum: Boolean(await find(mum, 'episodes', id)), on_dad: Boolean(await find(dad, 'episodes', id)) }
  },

  async a_phone_updated_to_version_2_gets_the_videos_uploaded_before() {
    const episodeId = await mum.create('episodes', episode({ started_at: now - 5 * HOUR, notes: 'filmed it' }))
    await mum.sync()
    const uploaded = await askPython({ ask: 'upload_videos', episode_id: episodeId, video_ids: ['clipkept', 'clipgone'] })
    await dad.sync() // still version 1: nothing of the videos, and its last pull is now after them
    const v1Tables = dad.lastPulledTables
    const beforeUpgrade = { episodes: (await dad.records('episodes')).length, unsynced: await dad.hasUnsynced() }
    await dad.upgradeTo(2)
    const afterUpgrade = { episodes: (await dad.records('episodes')).length, unsynced: await dad.hasUnsynced(),
      videos: (await dad.records('episode_videos')).length }
    await dad.sync()
    const videos = (await dad.records('episode_videos')).sort((a, b) => a.id.localeCompare(b.id))
    return {
      episode_id: episodeId, uploaded, v1_tables: v1Tables, before_upgrade: beforeUpgrade, after_upgrade: afterUpgrade,
      migration: dad.migrationsSent[dad.migrationsSent.length - 1], v2_tables: dad.lastPulledTables,
      videos: videos.map((video) => ({ id: video.id, episode_id: video.episode_id, status: video.status })),
      mum_tables: mum.lastPulledTables,
    }
  },

  async a_phone_deletes_a_video() {
    await dad.remove('episode_videos', 'clipgone') // markAsDeleted, as the app does: synced, then destroyed
    await dad.sync()
    await mum.sync()
    return {
      on_dad: (await dad.records('episode_videos')).map((video) => video.id),
      push_status: dad.pushStatuses[dad.pushStatuses.length - 1],
    }
  },

  async a_treatment_edited_on_two_phones_keeps_both_edits() {
    await mum.upgradeTo(2) // mum's phone gets the app's update too
    await mum.sync()
    // Dad logs the anti-seizure drug the child was put on a week ago, and the monthly development checks.
    const id = await dad.create('treatments', treatment())
    const checks = [
      await dad.create('development_checks', developmentCheck({ checked_on: daysAfterBirth(28) })),
      await dad.create('development_checks', developmentCheck({ checked_on: daysAfterBirth(56), new_skills: 'unsure',
        concerns: '["less_smiling"]', notes: 'smiles less since the new medicine' })),
    ]
    await dad.sync()
    await mum.sync()
    const pulled = { treatment: Boolean(await find(mum, 'treatments', id)),
      checks: (await mum.records('development_checks')).map((check) => check.id).sort() }
    // Both phones offline: mum records that the drug was stopped yesterday, dad that its dose was lowered.
    await mum.edit('treatments', id, { stopped_on: daysAgo(1) })
    await dad.edit('treatments', id, { dose: '3 mg/kg/day' })
    // Mum's phone syncs just after dad's pulled and before his push lands: his push is a 409.
    dad.beforeNextPush = () => mum.sync()
    let firstError = null
    try {
      await dad.sync()
    } catch (error) {
      firstError = String(error.message)
    }
    await dad.sync() // the docs' advice: synchronize again (pull, merge per column, push)
    await mum.sync()
    const columns = async (phone) => {
      const record = await find(phone, 'treatments', id)
      return record && { stopped_on: record.stopped_on, dose: record.dose }
    }
    return {
      id, checks: checks.sort(), pulled, first_error: firstError, dad_push_statuses: dad.pushStatuses.slice(-2),
      stopped_on: daysAgo(1), on_mum: await columns(mum), on_dad: await columns(dad),
    }
  },

  async a_treatment_deleted_on_one_phone_is_deleted_on_the_other() {
    const id = await mum.create('treatments', treatment({ name: 'fixed bedtime routine', kind: 'sleep_hygiene',
      dose: null, started_on: daysAgo(3) }))
    await mum.sync()
    await dad.sync()
    const beforeDelete = Boolean(await find(dad, 'treatments', id))
    await dad.remove('treatments', id)
    await dad.sync()
    await mum.sync()
    return {
      id, on_dad_before_delete: beforeDelete, on_mum: Boolean(await find(mum, 'treatments', id)),
      on_dad: Boolean(await find(dad, 'treatments', id)), push_status: dad.pushStatuses[dad.pushStatuses.length - 1],
    }
  },
}

async function settle() {
  for (let round = 0; round < 2; round += 1) {
    await mum.sync()
    await dad.sync()
  }
}

async function check() {
  const phones = {}
  for (const phone of [mum, dad]) {
    const diagnosis = await phone.diagnose()
    phones[phone.name] = {
      unsynced: await phone.hasUnsynced(),
      issue_count: diagnosis.issueCount,
      diagnosis_log: diagnosis.issueCount ? diagnosis.log : '',
      records: await phone.snapshot(),
    }
  }
  return phones
}

async function main() {
  const report = []
  for (const [name, scenario] of Object.entries(scenarios)) {
    const before = diagnostics.length
    const entry = { name }
    try {
      entry.result = await scenario()
      await settle()
      entry.phones = await check()
    } catch (error) {
      entry.error = String(error && error.stack ? error.stack : error)
    }
    entry.diagnostics = diagnostics.slice(before)
    report.push(entry)
    if (entry.error) break
  }
  fs.writeFileSync(process.env.MYODIARY_SYNC_REPORT, JSON.stringify({ tables: TABLES, scenarios: report }, null, 2))
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
