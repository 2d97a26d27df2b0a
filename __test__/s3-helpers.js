'use strict'
// A real S3-compatible server (s3s-fs, scripts/s3-server.js) and a real S3
// client (@aws-sdk/client-s3) for the upload tests: what leakguard sent is
// read back the way any S3 user would.
const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const {
  S3Client, CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListPartsCommand
} = require('@aws-sdk/client-s3')
const { startS3Server } = require('../scripts/s3-server')
const { tmpDir } = require('./helpers')

const REGION = 'us-east-1'
// The SDK's notice that its 2027 releases drop Node 20 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

/** A TCP port on 127.0.0.1 that nothing listens on (just now). */
function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts s3s-fs in a fresh data dir with a bucket, and a client for it.
 * The secret is random, so finding it in output can only mean a leak.
 */
async function startS3 ({ port = 0, bucket = 'leakguard-test' } = {}) {
  const dataDir = tmpDir('s3-data')
  const noAwsFiles = tmpDir('s3-no-aws-files')
  const accessKey = 'leakguard-test-key'
  const secretKey = `secret-${crypto.randomBytes(16).toString('hex')}`
  let server = await startS3Server({ dataDir, port, accessKey, secretKey })
  const client = new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: REGION,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey }
  })
  await client.send(new CreateBucketCommand({ Bucket: bucket }))

  const s3 = {
    bucket,
    dataDir,
    accessKey,
    secretKey,
    get endpoint () { return server.endpoint },
    get port () { return server.port },
    get server () { return server },
    client,
    async getObject (key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return Buffer.from(await r.Body.transformToByteArray())
    },
    headObject: (key) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
    async listObjects (prefix = '') {
      const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
      return r.Contents ?? []
    },
    /**
     * The parts stored under a multipart upload id; [] once it is aborted or
     * completed. s3s-fs has no ListMultipartUploads, so a known id is asked
     * about; it answers an unknown id with no parts (real S3: NoSuchUpload).
     */
    async listParts (key, uploadId) {
      try {
        const r = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        return r.Parts ?? []
      } catch (e) {
        if (e.name === 'NoSuchUpload') return []
        throw e
      }
    },
    /** Unfinished multipart uploads' ids: s3s-fs keeps each as `.upload-<id>.json` in its root. */
    pendingUploads: () => fs.readdirSync(dataDir).flatMap((f) => f.match(/^\.upload-(.+)\.json$/)?.[1] ?? []),
    /** Their parts' files, `.upload_id-<id>.part-<n>`, in its root. */
    partFiles: () => fs.readdirSync(dataDir).filter((f) => f.startsWith('.upload_id-')),
    /** Credentials for a child process, from the environment as in production; nothing from ~/.aws. */
    env: (extra = {}) => ({
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(noAwsFiles, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(noAwsFiles, 'credentials'),
      ...extra
    }),
    /** `env()` plus the LEAKGUARD_S3_* variables that point register and the CLI here. */
    leakguardEnv: (extra = {}) => s3.env({ LEAKGUARD_S3_BUCKET: bucket, LEAKGUARD_S3_ENDPOINT: server.endpoint, ...extra }),
    /** `configure({ s3 })` options for this server. */
    config: (extra = {}) => ({ bucket, endpoint: server.endpoint, ...extra }),
    secretAppearsIn: (text) => text.includes(secretKey),
    kill: (signal) => server.kill(signal),
    /** The same server again after a kill: same port, same data. */
    async restart () {
      server = await startS3Server({ dataDir, port: server.port, accessKey, secretKey })
    },
    stop () {
      client.destroy()
      return server.stop()
    }
  }
  return s3
}

module.exports = { startS3, freePort, REGION }
