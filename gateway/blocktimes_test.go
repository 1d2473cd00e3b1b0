package gateway

import (
	"testing"
	"time"
)

func TestTimeCache(t *testing.T) {
	c := newTimeCache()
	t0 := time.Unix(1_700_000_000, 0).UTC()
	if _, ok := c.get(1); ok {
		t.Fatal("empty cache answered")
	}
	c.put(1, t0)
	if got, ok := c.get(1); !ok || !got.Equal(t0) {
		t.Fatalf("get(1) = %v %v", got, ok)
	}
	for h := int64(2); h <= maxCachedTimes+1; h++ {
		c.put(h, t0)
	}
	if n := len(c.m); n > maxCachedTimes {
		t.Fatalf("cache holds %d times, cap %d", n, maxCachedTimes)
	}
	var nilCache *timeCache
	nilCache.put(1, t0)
	if _, ok := nilCache.get(1); ok {
		t.Fatal("nil cache answered")
	}
}
