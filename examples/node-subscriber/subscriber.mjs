#!/usr/bin/env node
// A Sinergi subscriber written without any Sinergi code: it joins a consumer group on
// Sinergi streams, validates every event against the checked-in JSON Schemas and
// acknowledges the valid ones. Invalid entries are reported and left pending (see README).
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import Redis from 'ioredis';

const ENTRY_FIELD = '__data__'; // the one field of an entry: the CloudEvent as JSON
const ENVELOPE_SCHEMA = 'urn:sinergi:schema:cloudevent';
const HERE = dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: subscriber.mjs [options]
  --redis-url URL     Redis to read from (env REDIS_URL; default redis://127.0.0.1:6379/0)
  --stream NAME       a Sinergi stream, repeatable (default sinergi.agreements)
  --group NAME        the consumer group, named after your service (default node-subscriber)
  --consumer NAME     this consumer in the group (default: the host name)
  --start-id ID       where a new group starts: 0 = the whole history (default), $ = new only
  --schemas DIR       the JSON Schemas (env SINERGI_SCHEMAS_DIR; default shared/events/schemas)
  --count N           entries per read (default 100)
  --block-ms MS       how long one read waits for new entries (default 2000)
  --until-drained     exit once nothing is left to read instead of waiting for more
  --json              print the summary as one JSON object on stdout
Exit status: 0 when every event was valid, 1 when any was invalid, 2 on any other failure.`;

function options() {
  const { values } = parseArgs({
    options: {
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0' },
      stream: { type: 'string', multiple: true, default: ['sinergi.agreements'] },
      group: { type: 'string', default: 'node-subscriber' },
      consumer: { type: 'string', default: hostname() },
      'start-id': { type: 'string', default: '0' },
      schemas: {
        type: 'string',
        default: process.env.SINERGI_SCHEMAS_DIR ?? join(HERE, '..', '..', 'shared', 'events', 'schemas'),
      },
      count: { type: 'string', default: '100' },
      'block-ms': { type: 'string', default: '2000' },
      'until-drained': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    redisUrl: values['redis-url'],
    streams: [...new Set(values.stream)],
    group: values.group,
    consumer: values.consumer,
    startId: values['start-id'],
    schemasDir: resolve(values.schemas),
    count: positiveInteger(values.count, '--count'),
    blockMs: positiveInteger(values['block-ms'], '--block-ms'),
    untilDrained: values['until-drained'],
    json: values.json,
  };
}

function positiveInteger(text, name) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer`);
  return value;
}

class UsageError extends Error {}

// Every schema file, registered under its `$id`: an event's `dataschema` names its schema.
async function loadValidator(schemasDir) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  const files = (await readdir(schemasDir)).filter((name) => name.endsWith('.json')).sort();
  for (const file of files) {
    ajv.addSchema(JSON.parse(await readFile(join(schemasDir, file), 'utf8')));
  }
  if (!ajv.getSchema(ENVELOPE_SCHEMA)) throw new UsageError(`no ${ENVELOPE_SCHEMA} in ${schemasDir}`);
  return { ajv, schemaCount: files.length };
}

// Only where and what, never the offending value: an event may carry personal data.
function describe(errors) {
  return (errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '(event)'} ${e.message}`);
}

/** Returns {type} for a valid entry, or {code, errors} for an invalid one. */
export function check(ajv, fields) {
  const at = fields.indexOf(ENTRY_FIELD);
  if (at < 0 || at % 2 !== 0 || fields.length !== 2) {
    return { code: 'invalid_entry', errors: [`an entry has exactly one field, ${ENTRY_FIELD}`] };
  }
  let event;
  try {
    event = JSON.parse(fields[at + 1]);
  } catch {
    return { code: 'invalid_entry', errors: [`${ENTRY_FIELD} does not hold JSON`] };
  }
  const envelope = ajv.getSchema(ENVELOPE_SCHEMA);
  if (!envelope(event)) return { code: 'invalid_envelope', errors: describe(envelope.errors) };
  const schema = ajv.getSchema(event.dataschema);
  if (!schema) {
    return { code: 'unknown_schema', errors: [`no schema ${event.dataschema} (type ${event.type})`] };
  }
  if (!schema(event)) return { code: 'invalid_event', type: event.type, errors: describe(schema.errors) };
  return { type: event.type };
}

async function joinGroup(redis, stream, group, startId) {
  try {
    await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
  } catch (error) {
    if (!String(error.message).startsWith('BUSYGROUP')) throw error;
  }
}

class Summary {
  constructor(settings) {
    this.streams = settings.streams;
    this.group = settings.group;
    this.consumer = settings.consumer;
    this.read = 0;
    this.valid = 0;
    this.acked = 0;
    this.invalid = 0;
    this.deleted = 0;
    this.by_type = {};
    this.invalid_entries = [];
  }

  text() {
    const types = Object.entries(this.by_type).map(([type, n]) => `  ${type}: ${n}`);
    return [
      `group ${this.group} (consumer ${this.consumer}) on ${this.streams.join(', ')}:`,
      `  read ${this.read}, valid ${this.valid}, acknowledged ${this.acked}, invalid ${this.invalid}` +
        (this.deleted ? `, deleted before being read ${this.deleted}` : ''),
      ...types,
    ].join('\n');
  }
}

async function handle(redis, ajv, summary, stream, entries) {
  const toAck = [];
  for (const [id, fields] of entries) {
    summary.read += 1;
    if (fields === null) {
      // Still pending here but trimmed from the stream meanwhile: nothing left to process.
      summary.deleted += 1;
      toAck.push(id);
      continue;
    }
    const result = check(ajv, fields);
    if (result.code) {
      summary.invalid += 1;
      summary.invalid_entries.push({ stream, id, ...result });
      console.error(`invalid ${stream} ${id} ${result.code}: ${result.errors.join('; ')}`);
      continue;
    }
    summary.valid += 1;
    summary.by_type[result.type] = (summary.by_type[result.type] ?? 0) + 1;
    // This is where a real subscriber stores the event's effect, before acknowledging it.
    toAck.push(id);
  }
  if (toAck.length > 0) summary.acked += await redis.xack(stream, summary.group, ...toAck);
}

async function run(settings) {
  const { ajv, schemaCount } = await loadValidator(settings.schemasDir);
  // A first connection fails fast; a lost one is retried for as long as it takes, except
  // with --until-drained, where a read fails after three reconnection attempts.
  let connected = false;
  let failure = null;
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: settings.untilDrained ? 3 : null,
    retryStrategy: (times) => (connected ? Math.min(times * 200, 2000) : times > 2 ? null : 200),
  });
  redis.on('ready', () => {
    if (failure && connected) console.error('reconnected to Redis');
    connected = true;
    failure = null;
  });
  redis.on('error', (error) => {
    if (failure === null) console.error(`Redis: ${error.message}`);
    failure = error;
  });
  await redis.connect();
  const summary = new Summary(settings);
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (const stream of settings.streams) await joinGroup(redis, stream, settings.group, settings.startId);
    console.error(
      `joined group ${settings.group} as ${settings.consumer} on ${settings.streams.join(', ')}; ` +
        `${schemaCount} schemas from ${settings.schemasDir}`,
    );
    const head = ['GROUP', settings.group, settings.consumer, 'COUNT', settings.count];

    // First what this consumer read before but never acknowledged (it stopped in between),
    // walking its pending list from the start; then entries no consumer of the group has seen.
    const after = Object.fromEntries(settings.streams.map((stream) => [stream, '0']));
    let history = settings.streams;
    while (history.length > 0 && !stopping) {
      const reply = await redis.xreadgroup(...head, 'STREAMS', ...history, ...history.map((s) => after[s]));
      const next = [];
      for (const [stream, entries] of reply ?? []) {
        if (entries.length === 0) continue;
        after[stream] = entries[entries.length - 1][0];
        await handle(redis, ajv, summary, stream, entries);
        next.push(stream);
      }
      history = next;
    }

    const fresh = settings.streams.map(() => '>');
    while (!stopping) {
      const block = settings.untilDrained ? [] : ['BLOCK', settings.blockMs];
      let reply;
      try {
        reply = await redis.xreadgroup(...head, ...block, 'STREAMS', ...settings.streams, ...fresh);
      } catch (error) {
        // The stream or the group went away (a Redis restarted without its data): join again.
        if (!String(error.message).startsWith('NOGROUP')) throw error;
        console.error(`${error.message}; joining the group again`);
        for (const stream of settings.streams) await joinGroup(redis, stream, settings.group, settings.startId);
        continue;
      }
      if (reply === null) {
        if (settings.untilDrained) break;
        continue;
      }
      for (const [stream, entries] of reply) await handle(redis, ajv, summary, stream, entries);
    }
  } finally {
    redis.disconnect();
  }
  return summary;
}

async function main() {
  let settings;
  try {
    settings = options();
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  let summary;
  try {
    summary = await run(settings);
  } catch (error) {
    console.error(`subscriber failed: ${error.message}`);
    return 2;
  }
  if (settings.json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(summary.text());
  }
  return summary.invalid > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
