// One upload with tus-js-client (what the phone app uses), in Node, against the real server.
//
// The test passes its settings as JSON in MYODIARY_TUS_CONFIG:
//   { endpoint, token, file, metadata: {id, episode_id, filename, filetype}, chunkSize, retryDelays }
// and reads one JSON line on stdout: { ok, url, bytesUploaded, bytesTotal, retries: [...], error }.
'use strict'

const fs = require('fs')
const { Upload } = require('tus-js-client')

const config = JSON.parse(process.env.MYODIARY_TUS_CONFIG)
const retries = []

function report(result) {
  process.stdout.write(JSON.stringify({ retries, ...result }) + '\n')
}

// The library's own rule (retry a network error, a 5xx, a 409 or a 423; never another 4xx), noted as it
// goes so that the test can see the client resumed after a cut.
function onShouldRetry(err, retryAttempt) {
  const status = err.originalResponse ? err.originalResponse.getStatus() : 0
  const retry = status === 0 || status >= 500 || status === 409 || status === 423 || status < 400
  retries.push({ attempt: retryAttempt, status, retry, message: String(err.message).split('\n')[0] })
  return retry
}

const file = fs.createReadStream(config.file) // read as a stream, chunk by chunk, as a phone would
const size = fs.statSync(config.file).size
let bytesUploaded = 0

const upload = new Upload(file, {
  endpoint: config.endpoint,
  chunkSize: config.chunkSize,
  uploadSize: size,
  uploadDataDuringCreation: false,
  retryDelays: config.retryDelays,
  metadata: config.metadata,
  headers: { Authorization: `Bearer ${config.token}` },
  onShouldRetry,
  onProgress(sent) {
    bytesUploaded = sent
  },
  onError(error) {
    report({ ok: false, url: upload.url, bytesUploaded, bytesTotal: size, error: String(error) })
    process.exitCode = 1
  },
  onSuccess() {
    report({ ok: true, url: upload.url, bytesUploaded, bytesTotal: size, error: null })
  },
})

upload.start()
