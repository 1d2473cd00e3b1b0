package crypto

import (
	"fmt"
	"testing"
)

func BenchmarkVerifySignature(b *testing.B) {
	msg := make([]byte, 256) // about the size of a small transaction body
	for _, algo := range Algos() {
		b.Run(string(algo), func(b *testing.B) {
			priv, err := GenPrivKey(algo)
			if err != nil {
				b.Fatal(err)
			}
			sig, err := priv.Sign(msg)
			if err != nil {
				b.Fatal(err)
			}
			pub := priv.PubKey()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !pub.VerifySignature(msg, sig) {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkVerifyInvalidSignature measures refusing a well-formed but wrong
// signature (for sm2 this includes the generic re-check when the gmsm
// defect is detected; see the package documentation).
func BenchmarkVerifyInvalidSignature(b *testing.B) {
	msg := make([]byte, 256)
	for _, algo := range Algos() {
		b.Run(string(algo), func(b *testing.B) {
			priv, err := GenPrivKey(algo)
			if err != nil {
				b.Fatal(err)
			}
			sig, err := priv.Sign(msg)
			if err != nil {
				b.Fatal(err)
			}
			pub := priv.PubKey()
			other := append([]byte{1}, msg...)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if pub.VerifySignature(other, sig) {
					b.Fatal("accepted")
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	msg := make([]byte, 256)
	for _, algo := range Algos() {
		b.Run(string(algo), func(b *testing.B) {
			priv, err := GenPrivKey(algo)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := priv.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPubKeyFromBytes(b *testing.B) {
	for _, algo := range Algos() {
		b.Run(string(algo), func(b *testing.B) {
			priv, err := GenPrivKey(algo)
			if err != nil {
				b.Fatal(err)
			}
			raw := priv.PubKey().Bytes()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := PubKeyFromBytes(algo, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEd25519Batch verifies batches of signatures by distinct keys;
// compare ns/sig with BenchmarkVerifySignature/ed25519. The small sizes are those of
// the mempool's batches (app.Preverify: 17 new transactions on average under load).
func BenchmarkEd25519Batch(b *testing.B) {
	for _, n := range []int{2, 4, 16, 64, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			pubs := make([]PubKey, n)
			msgs := make([][]byte, n)
			sigs := make([][]byte, n)
			for i := range pubs {
				priv, err := GenPrivKey(Ed25519)
				if err != nil {
					b.Fatal(err)
				}
				pubs[i] = priv.PubKey()
				msgs[i] = []byte(fmt.Sprintf("tx %d", i))
				sigs[i], _ = priv.Sign(msgs[i])
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := NewEd25519Batch()
				for j := range pubs {
					if err := batch.Add(pubs[j], msgs[j], sigs[j]); err != nil {
						b.Fatal(err)
					}
				}
				if ok, _ := batch.Verify(); !ok {
					b.Fatal("refused")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
		})
	}
}
