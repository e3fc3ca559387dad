"""eddsa-jcs-2022 against the W3C test vectors, and what a verifier refuses."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records import credential
from records.keys import SigningKey, key_id, private_from_multibase, public_from_key_id
from records.verify import verify_document

# From the W3C repository w3c/vc-di-eddsa (Data Integrity EdDSA Cryptosuites v1.0, commit
# abb673e): TestVectors/keyPair.json, TestVectors/unsigned.json and
# TestVectors/eddsa-jcs-2022/signedJCS.json.
PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
PRIVATE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
UNSIGNED = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
    ],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
PROOF_VALUE = (
    "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
)
# TestVectors/eddsa-jcs-2022/proofHashJCS.txt followed by docHashJCS.txt (combinedHashJCS.txt).
COMBINED = (
    "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"
    "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
)


def _vector_key() -> SigningKey:
    return SigningKey.of(private_from_multibase(PRIVATE))


def test_the_w3c_key_pair_has_the_published_name() -> None:
    key = _vector_key()
    assert key.kid == PUBLIC
    assert key_id(public_from_key_id(f"did:key:{PUBLIC}#{PUBLIC}")) == PUBLIC


def test_signing_the_w3c_example_gives_the_w3c_proof() -> None:
    signed = credential.sign(UNSIGNED, _vector_key(), CREATED)
    proof = signed["proof"]
    assert credential.hash_data(UNSIGNED, proof).hex() == COMBINED
    assert proof["verificationMethod"] == f"did:key:{PUBLIC}#{PUBLIC}"
    assert proof["created"] == "2023-02-24T23:36:38Z"
    assert proof["proofValue"] == PROOF_VALUE


def test_the_w3c_signed_example_verifies_and_any_change_does_not() -> None:
    signed = credential.sign(UNSIGNED, _vector_key(), CREATED)
    keys = {PUBLIC: public_from_key_id(PUBLIC)}
    assert credential.check(signed, keys).valid
    changed = copy.deepcopy(signed)
    changed["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    result = credential.check(changed, keys)
    assert not result.valid and "content changed" in str(result.problem)
    bad_proof = copy.deepcopy(signed)
    bad_proof["proof"]["created"] = "2024-01-01T00:00:00Z"
    assert not credential.check(bad_proof, keys).valid


def test_a_document_signed_by_another_key_is_refused_as_unknown() -> None:
    other = SigningKey.of(Ed25519PrivateKey.generate())
    signed = credential.sign(UNSIGNED, other, CREATED)
    result = credential.check(signed, {PUBLIC: public_from_key_id(PUBLIC)})
    assert not result.valid and "key unknown" in str(result.problem)
    # Swapping in a trusted key's name does not help: the signature is not that key's.
    forged = copy.deepcopy(signed)
    forged["proof"]["verificationMethod"] = f"did:key:{PUBLIC}#{PUBLIC}"
    result = credential.check(forged, {PUBLIC: public_from_key_id(PUBLIC)})
    assert not result.valid and "signature" in str(result.problem)


def test_a_hostile_document_is_invalid_not_an_error() -> None:
    keys = {PUBLIC: public_from_key_id(PUBLIC)}
    signed = credential.sign(UNSIGNED, _vector_key(), CREATED)
    huge = {**signed, "credentialSubject": {"n": 2**80}}
    deep: object = "x"
    for _ in range(900):
        deep = [deep]
    nested = {**signed, "credentialSubject": deep}
    for document in (huge, nested):
        result = verify_document(json.dumps(document).encode(), keys)
        assert not result.valid and result.problem
    assert not verify_document(b"[1, 2]", keys).valid
    assert not verify_document(b"\xff\xfe not json", keys).valid
    assert not verify_document(b"%PDF-1.4 no signature", keys).valid
