package crypto

import (
	"crypto/elliptic"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func TestZZBug(t *testing.T) {
	b, _ := hex.DecodeString("023132303238303130303030303030304180000000000000000000000000000000")
	x, y := elliptic.UnmarshalCompressed(sm2.P256(), b)
	fmt.Printf("x=%x\ny=%x\n", x, y)
	if x != nil {
		fmt.Println("oncurve(generic params):", sm2.P256().Params().IsOnCurve(x, y), "oncurve(curve):", sm2.P256().IsOnCurve(x, y))
	}
	// big.Int reference
	p := sm2.P256().Params().P
	xx := new(big.Int).SetBytes(b[1:])
	rhs := new(big.Int).Exp(xx, big.NewInt(3), p)
	rhs.Sub(rhs, new(big.Int).Mul(big.NewInt(3), xx))
	rhs.Add(rhs, sm2.P256().Params().B)
	rhs.Mod(rhs, p)
	yy := new(big.Int).ModSqrt(rhs, p)
	fmt.Printf("ref y=%v\n", yy)
}
