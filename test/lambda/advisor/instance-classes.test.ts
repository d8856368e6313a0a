import { instanceClassMemoryGiB } from '../../../lambda/advisor/instance-classes';

describe('instanceClassMemoryGiB', () => {
  it.each([
    ['db.t4g.micro', 1],
    ['t4g.medium', 4],
    ['db.m7g.large', 8],
    ['m7g.2xlarge', 32],
    ['db.r7g.xlarge', 32],
    ['db.r6i.16xlarge', 512],
    ['db.x2g.large', 32],
  ])('%s has %d GiB', (cls, gib) => {
    expect(instanceClassMemoryGiB(cls)).toBe(gib);
  });

  it.each(['db.z1d.large', 'db.m7g.huge', 'r7g', ''])('does not guess for %j', (cls) => {
    expect(instanceClassMemoryGiB(cls)).toBeUndefined();
  });
});
