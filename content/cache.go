package content

import (
	"container/list"
	"sync"
)

// byteCache keeps small immutable files in memory, least recently used
// out first, bounded by total bytes. Keys are content hashes, so an entry
// is never stale.
type byteCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	ll    *list.List
	items map[string]*list.Element
}

type cacheItem struct {
	key  string
	data []byte
	ct   string
}

func newByteCache(max int64) *byteCache {
	return &byteCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *byteCache) get(key string) ([]byte, string, bool) {
	if c.max <= 0 {
		return nil, "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.ll.MoveToFront(el)
		it := el.Value.(*cacheItem)
		return it.data, it.ct, true
	}
	return nil, "", false
}

func (c *byteCache) put(key string, data []byte, ct string) {
	if c.max <= 0 || int64(len(data)) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.ll.PushFront(&cacheItem{key: key, data: data, ct: ct})
	c.size += int64(len(data))
	for c.size > c.max {
		el := c.ll.Back()
		it := el.Value.(*cacheItem)
		c.ll.Remove(el)
		delete(c.items, it.key)
		c.size -= int64(len(it.data))
	}
}
