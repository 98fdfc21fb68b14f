// Verifies a Sigstore bundle signed by a key with sigstore-js (@sigstore/verify), an
// implementation independent of this project's: node verify.cjs BUNDLE KEY.pem [ARTIFACT].
// Bundles signed offline carry no log entry or timestamp, so none is required. Exit 0 when
// the bundle verifies, 1 with the reason otherwise.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const [bundlePath, keyPath, artifactPath] = process.argv.slice(2);
try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath, 'utf8'));
  const root = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
  const trust = toTrustMaterial(root, () => ({ publicKey, validFor: () => true }));
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  const artifact = artifactPath ? fs.readFileSync(artifactPath) : undefined;
  verifier.verify(toSignedEntity(bundle, artifact));
  const envelope = bundle.content.dsseEnvelope;
  const statement = envelope ? JSON.parse(envelope.payload.toString('utf8')) : null;
  console.log(JSON.stringify({ verified: true, statement }));
} catch (e) {
  console.error(`not verified: ${e.message || e}`);
  process.exit(1);
}
