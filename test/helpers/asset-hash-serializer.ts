// Snapshot serializer: replaces asset hashes (64 hex chars) so stack snapshots change only when
// the template really does, not when a Lambda's source changes by a byte.
const ASSET_HASH = /[a-f0-9]{64}/g;

module.exports = {
  test: (val: unknown) => typeof val === 'string' && /[a-f0-9]{64}/.test(val),
  serialize: (val: string) => JSON.stringify(val.replace(ASSET_HASH, '[ASSET-HASH]')),
};
