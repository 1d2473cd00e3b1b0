// Package crypto provides the account key algorithms of Lian, account
// addresses, and an on-disk keystore.
//
// Three signature algorithms are supported, named by Algo: "ed25519", "sm2"
// and "secp256k1". No primitive is implemented here; each algorithm is
// delegated to an established library, as described below. Every decoding
// function returns an error (never panics) on malformed input, and
// PubKey.VerifySignature returns false (never panics) on any input.
//
// # ed25519
//
// Library: github.com/cometbft/cometbft/crypto/ed25519, which verifies with
// curve25519-voi under ZIP-215 rules, exactly like CometBFT consensus, so
// that single and batch verification (Ed25519Batch) give the same verdicts.
//
//   - Public key: 32 bytes, the RFC 8032 encoding of the point A.
//     PubKeyFromBytes requires a canonical encoding (y < p, no "negative
//     zero" x) of a point on the curve that is not of small order (small-order
//     keys would let anyone forge signatures under ZIP-215). Such keys are
//     never produced by key generation.
//   - Private key: 64 bytes in CometBFT form, the 32-byte RFC 8032 seed
//     followed by the 32-byte public key. PrivKeyFromBytes checks that the
//     public half matches the seed.
//   - Signature: 64 bytes R || S as in RFC 8032, deterministic, over the raw
//     message (no pre-hashing). Verification follows ZIP-215: S must be
//     below the group order L, R may be any (even non-canonical) encoding of
//     a point, and the cofactored equation [8][S]B = [8]R + [8][k]A is used.
//   - Address: the first 20 bytes of SHA-256(32-byte public key), the same as
//     a CometBFT validator address.
//
// # sm2
//
// Library: github.com/emmansun/gmsm (sm2, sm3). SM2 digital signatures per
// GM/T 0003.2-2012 / GB/T 32918.2-2016 over the SM2 recommended 256-bit
// curve, with SM3 as hash and the default user id "1234567812345678".
//
//   - Public key: 33 bytes, the SEC 1 compressed point: 0x02 or 0x03 (parity
//     of y) followed by the 32-byte big-endian x. PubKeyFromBytes requires
//     x < p and a point on the curve. The uncompressed form is not accepted.
//   - Private key: the 32-byte big-endian scalar d, 1 <= d <= n-2 (as GB/T
//     32918.1 requires).
//   - Signature: the ASN.1 DER encoding of SEQUENCE { r INTEGER, s INTEGER },
//     at most SM2MaxSignatureSize (72) bytes, usually 70 to 72. The signed
//     digest is e = SM3(ZA || msg), where ZA = SM3(ENTL || ID || a || b || xG
//     || yG || xA || yA) with ID the default user id. Signing is randomized,
//     so two signatures of the same message differ. Verification requires
//     strict DER (minimal lengths and integers, no trailing data) and
//     1 <= r, s <= n-1.
//   - Address: the first 20 bytes of SM3(33-byte compressed public key).
//
// gmsm v0.30.1 has a defect in its amd64 assembly for field multiplication
// on CPUs with BMI2 and ADX (gmsm issue #560): some inputs give wrong
// results. A self-test at start-up detects it. Public keys are therefore
// always decoded with Go's generic crypto/elliptic arithmetic. When the
// self-test finds the defect, a signature that the optimized code refuses is
// checked again with gmsm's generic (big.Int) verification, whose verdict
// stands. That check takes about 2.5 ms, against about 0.1 ms for the
// optimized one. Key derivation is double-checked the same way, and every
// new SM2 signature is verified before it is returned.
//
// # secp256k1
//
// Library: github.com/ethereum/go-ethereum/crypto. This is ECDSA over
// secp256k1, the Ethereum way. The library uses libsecp256k1 when built
// with cgo and decred's secp256k1 otherwise; both apply the rules below.
//
//   - Public key: 33 bytes, the SEC 1 compressed point (0x02/0x03 || x).
//     PubKeyFromBytes requires x < p and a point on the curve. The 65-byte
//     uncompressed form is not accepted.
//   - Private key: the 32-byte big-endian scalar d, 1 <= d <= n-1.
//   - Signature: exactly 64 bytes, R || S, each 32 bytes big-endian. This is
//     go-ethereum's 65-byte [R || S || V] signature with the recovery byte V
//     dropped (the public key travels with the transaction, so recovery is
//     not needed). A 65-byte signature is refused. The signed digest is
//     Keccak-256(msg) (the legacy Keccak, not SHA3-256). Signing is
//     deterministic (RFC 6979) and always produces a low S. Verification
//     requires 1 <= r, s <= n-1 and refuses high S (s > n/2), so signatures
//     are not malleable.
//   - Address: the Ethereum address, the last 20 bytes of Keccak-256 of the
//     64-byte uncompressed public key X || Y (without the 0x04 prefix), as
//     go-ethereum's crypto.PubkeyToAddress computes it.
//
// # Addresses
//
// An Address is 20 bytes. Its text form (String, MarshalText, JSON) is "0x"
// followed by 40 lowercase hex digits. ParseAddress accepts a "0x" or "0X"
// prefix followed by exactly 40 hex digits of either case. EIP-55 checksums
// are neither produced nor checked. The three derivations hash different
// encodings with different hashes, so keys of different algorithms do not
// share an address in practice.
//
// # Keystore
//
// A Keystore keeps one unencrypted JSON file per key, <dir>/<name>.json,
// with mode 0600 in a directory created with mode 0700. Names match
// [a-zA-Z0-9_.-]{1,64}. A file holds:
//
//	{
//	  "name": "alice",
//	  "algo": "sm2",
//	  "address": "0x...",        // 40 lowercase hex digits
//	  "pub_key": "03...",        // hex, canonical public key, no 0x prefix
//	  "priv_key": "..."          // hex, PrivKey.Bytes(), no 0x prefix
//	}
//
// Files are written to a temporary file in the same directory, synced, and
// then linked into place, or renamed into place where hard links are not
// supported. An existing key is never overwritten. On reading, the name,
// algorithm, public key and address are checked against the private key.
// A Key (the public part) marshals to JSON with the same field names, with
// pub_key as a hex string.
package crypto
