import { createPool, type DbConnectionOptions, optionsFromUrl } from '../../../lambda/shared/db';

// The one connection helper against the real PostgreSQL 18 of the test run, which jest's
// globalSetup starts with TLS on (a throw-away CA and a certificate for `localhost`). This is the
// path every function takes to RDS: verify-full against a CA bundle, password per attempt.
const caFile = process.env.TEST_TLS_CA_FILE;
const otherCaFile = process.env.TEST_TLS_OTHER_CA_FILE;
// Skipped only when the openssl CLI was missing at globalSetup (it ships with this project's machines).
const tlsIt = caFile && otherCaFile ? it : it.skip;

function base(overrides: Partial<DbConnectionOptions> = {}): DbConnectionOptions {
  const url = optionsFromUrl(process.env.TEST_DATABASE_URL!);
  return {
    ...url,
    host: 'localhost',
    tls: 'verify-full',
    caBundlePath: caFile,
    connectTimeoutMs: 5_000,
    max: 1,
    ...overrides,
  };
}

async function sslOf(opts: DbConnectionOptions): Promise<boolean> {
  const pool = createPool(opts);
  try {
    const { rows } = await pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return rows[0].ssl;
  } finally {
    await pool.end();
  }
}

describe('createPool', () => {
  tlsIt('connects over TLS when the server certificate chains to the CA bundle and names the host', async () => {
    expect(await sslOf(base())).toBe(true);
  });

  tlsIt('refuses a server whose certificate does not chain to the CA bundle', async () => {
    await expect(sslOf(base({ caBundlePath: otherCaFile }))).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  tlsIt('refuses a server whose certificate names another host', async () => {
    // The certificate is for "localhost"; 127.0.0.1 is not in it.
    await expect(sslOf(base({ host: '127.0.0.1' }))).rejects.toThrow(/altnames|Hostname|IP: 127\.0\.0\.1/i);
  });

  tlsIt('asks for the password on every connection attempt', async () => {
    const real = optionsFromUrl(process.env.TEST_DATABASE_URL!).password as string;
    let calls = 0;
    const pool = createPool(
      base({
        max: 2,
        password: async () => {
          calls += 1;
          return real;
        },
      }),
    );
    try {
      const a = await pool.connect();
      const b = await pool.connect();
      a.release();
      b.release();
      expect(calls).toBe(2);
    } finally {
      await pool.end();
    }
  });

  it('fails with a clear error when the CA bundle file is missing', () => {
    expect(() => createPool(base({ caBundlePath: '/nonexistent/ca.pem' }))).toThrow(/ENOENT|no such file/);
  });
});

describe('optionsFromUrl', () => {
  it('reads every part of a URL and TLS from sslmode', () => {
    expect(optionsFromUrl('postgres://u%40x:p%3Aw@db.example:6543/crm?sslmode=verify-full')).toMatchObject({
      host: 'db.example',
      port: 6543,
      database: 'crm',
      user: 'u@x',
      password: 'p:w',
      tls: 'verify-full',
    });
    expect(optionsFromUrl('postgresql://u:p@localhost/crm').tls).toBe('disable');
  });

  it.each(['nonsense', 'mysql://u:p@h/db', ''])('refuses %p with a message naming DATABASE_URL', (url) => {
    expect(() => optionsFromUrl(url)).toThrow(/DATABASE_URL/);
  });
});
