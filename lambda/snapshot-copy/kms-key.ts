/**
 * Destination key check for cross-region copies. RDS needs a KMS key *in the destination region*
 * for an encrypted copy; the AWS managed `aws/rds` key cannot be shared or used across accounts and
 * cannot be managed by key policy, which is why tools that default to it fail later and obscurely.
 * We require the key ARN of a customer managed key: the ARN names its region, so a key from the
 * wrong region is caught here instead of in a failed copy, and an alias could point at `aws/rds`.
 */
const KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;

/** Why `keyId` cannot encrypt copies in `destinationRegion`, or undefined when it can. */
export function destinationKeyProblem(keyId: string | undefined, destinationRegion: string): string | undefined {
  const k = (keyId ?? '').trim();
  if (k === '') return `is required: the ARN of a customer managed KMS key in ${destinationRegion}`;
  if (/(^|[:/])alias\/aws\/rds$/.test(k) || k === 'aws/rds') {
    return `is the AWS managed key aws/rds; cross-region copies need a customer managed KMS key in ${destinationRegion} (give its key ARN)`;
  }
  if (k.includes('alias/')) {
    return `is an alias (${k}); give the key ARN (arn:aws:kms:${destinationRegion}:<account>:key/<id>) so it can be checked to be customer managed and in ${destinationRegion}`;
  }
  const m = KEY_ARN.exec(k);
  if (!m) return `must be a KMS key ARN like arn:aws:kms:${destinationRegion}:<account>:key/<id> (got "${k}")`;
  if (m[2] !== destinationRegion) return `is a key in ${m[2]}, but copies are made in ${destinationRegion}`;
  return undefined;
}
