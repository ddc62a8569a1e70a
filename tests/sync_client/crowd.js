// Many phones of many families syncing at once (issue 23): WatermelonDB's own synchronize() on every phone,
// all phones running together against the real servers, each doing what a parent does at night (log, edit,
// delete) between syncs. Writes a JSON report for tests/test_scale_out.py, which compares every phone's
// final records with the database.
'use strict'

const fs = require('fs')
const { Phone, diagnostics } = require('./phones')

const config = JSON.parse(process.env.MYODIARY_CROWD_CONFIG)
const HOUR = 3600 * 1000
const now = Date.now()

// A seeded generator: a failing run can be repeated with the same seed.
let seed = config.seed
function random() {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
function pick(list) {
  return list[Math.floor(random() * list.length)]
}
const pause = () => new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 15)))

function episode(childId, note) {
  return {
    child_id: childId, started_at: now - Math.floor(1 + random() * 200) * HOUR, duration_seconds: 20,
    timezone: 'Europe/Berlin', sleep_state: 'asleep', stopped_when_woken: 'yes', side: 'both',
    body_parts: '["arms"]', signs: '[]', triggers: '[]', jerk_count: 5, notes: note, video_ref: null,
  }
}

function sleepSession(childId) {
  const start = now - Math.floor(30 + random() * 200) * HOUR
  return { child_id: childId, started_at: start, ended_at: start + 6 * HOUR, kind: 'night', watched: true, notes: null }
}

// One sync as the app does it: a push refused because the other parent changed a record first (409) is
// followed by another sync, which pulls, merges and pushes again.
async function syncUntilDone(phone, log) {
  for (let attempt = 0; attempt < 30; attempt += 1) {
    try {
      await phone.sync()
      return
    } catch (error) {
      if (!String(error).includes('push 409')) {
        log.failures.push(`${phone.name}: ${error}`)
        return
      }
      log.conflicts += 1
      await pause()
    }
  }
  log.failures.push(`${phone.name}: still 409 after 30 syncs`)
}

async function night(phone, childId, log) {
  for (let round = 0; round < config.rounds; round += 1) {
    for (let count = 1 + Math.floor(random() * 3); count > 0; count -= 1) {
      log.made.push(await phone.create('episodes', episode(childId, `${phone.name} r${round} n${count}`)))
    }
    if (random() < 0.3) log.made.push(await phone.create('sleep_sessions', sleepSession(childId)))
    const mine = (await phone.records('episodes')).filter((record) => record.child_id === childId)
    if (mine.length && random() < 0.5) {
      // both parents edit the family's oldest records most: the other one's push often came first (409)
      const shared = mine.map((record) => record.id).sort().slice(0, 2)
      await phone.edit('episodes', pick(shared), { jerk_count: Math.floor(random() * 50), notes: `${phone.name} edit` })
      log.edits += 1
    }
    if (mine.length > 4 && random() < 0.2) {
      const gone = pick(mine).id
      await phone.remove('episodes', gone)
      log.deleted.push(gone)
    }
    await syncUntilDone(phone, log)
    await pause()
  }
}

async function main() {
  const phones = []
  for (const family of config.families) {
    for (const spec of family.phones) phones.push({ phone: new Phone(spec), childId: family.childId })
  }
  const logs = Object.fromEntries(phones.map(({ phone }) => [phone.name,
    { made: [], deleted: [], edits: 0, conflicts: 0, failures: [] }]))
  for (const { phone } of phones) await syncUntilDone(phone, logs[phone.name]) // the first pull: the child
  await Promise.all(phones.map(({ phone, childId }) => night(phone, childId, logs[phone.name])))
  for (let round = 0; round < 2; round += 1) { // settle: every phone syncs after the last change anywhere
    for (const { phone } of phones) await syncUntilDone(phone, logs[phone.name])
  }
  const report = {}
  for (const { phone } of phones) {
    const diagnosis = await phone.diagnose()
    report[phone.name] = { ...logs[phone.name], unsynced: await phone.hasUnsynced(), issue_count: diagnosis.issueCount,
      records: { episodes: await phone.records('episodes'), sleep_sessions: await phone.records('sleep_sessions') } }
  }
  fs.writeFileSync(process.env.MYODIARY_CROWD_REPORT, JSON.stringify({ phones: report, diagnostics }, null, 2))
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
