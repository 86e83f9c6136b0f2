import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

/** A certificate and its private key, PEM, in memory and as files. */
export interface Issued {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

interface Authority extends Issued {
  /** A server certificate names `localhost` and 127.0.0.1 unless given its own DNS names. */
  sign(commonName: string, usage: 'server' | 'client', dnsNames?: string[]): Issued;
}

/**
 * Throwaway PKI for tests, made in the test: node-forge builds the certificates, Node's crypto
 * makes the keys and signs (forge's pure-JS RSA takes seconds per signature under Jest). Nothing
 * is checked in and nothing depends on an `openssl` binary. Files live in a temporary folder until
 * `remove()`.
 */
export class TestPki {
  /** The temporary folder the files are written to. */
  readonly directory = mkdtempSync(join(tmpdir(), 'grpc-tls-'));
  private written = 0;

  /** A self-signed certificate authority. */
  authority(commonName: string): Authority {
    const keys = rsaKeys();
    const cert = certificate(commonName, keys.publicKey, undefined, [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    signWith(cert, keys.pem);
    const ca = this.save(forge.pki.certificateToPem(cert), keys.pem);
    return {
      ...ca,
      sign: (name, usage, dnsNames) => {
        const leafKeys = rsaKeys();
        const leaf = certificate(name, leafKeys.publicKey, cert, [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          usage === 'server'
            ? { name: 'extKeyUsage', serverAuth: true }
            : { name: 'extKeyUsage', clientAuth: true },
          ...(usage === 'server'
            ? [
                {
                  name: 'subjectAltName',
                  altNames: dnsNames
                    ? dnsNames.map((value) => ({ type: 2, value }))
                    : [
                        { type: 2, value: 'localhost' },
                        { type: 7, ip: '127.0.0.1' },
                      ],
                },
              ]
            : []),
        ]);
        signWith(leaf, keys.pem);
        return this.save(forge.pki.certificateToPem(leaf), leafKeys.pem);
      },
    };
  }

  remove(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }

  private save(cert: string, key: string): Issued {
    const n = ++this.written;
    const certPath = join(this.directory, `${n}.crt`);
    const keyPath = join(this.directory, `${n}.key`);
    writeFileSync(certPath, cert);
    writeFileSync(keyPath, key, { mode: 0o600 });
    return { cert, key, certPath, keyPath };
  }
}

function rsaKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { publicKey: forge.pki.publicKeyFromPem(publicKey), pem: privateKey };
}

/** What forge's `cert.sign` does, with the RSA signature computed by Node. */
function signWith(cert: forge.pki.Certificate, issuerKeyPem: string): void {
  const { getTBSCertificate } = forge.pki as unknown as {
    getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  };
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  cert.tbsCertificate = getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, issuerKeyPem).toString('binary');
}

function certificate(
  commonName: string,
  publicKey: forge.pki.PublicKey,
  issuer: forge.pki.Certificate | undefined,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive (leading 01) and unique, as X.509 wants.
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 60 * 60_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.subject.attributes : subject);
  cert.setExtensions(extensions);
  return cert;
}
