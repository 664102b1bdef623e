package gormthumb

// Real servers with one fault each, for the cases a well-behaved server
// never shows: a connection that drops right after COMMIT reached the
// database, and an S3 endpoint that hangs on DELETE or fails a HEAD.

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
)

// commitDropper is a TCP proxy in front of a database server. Armed, it
// forwards the next COMMIT the client sends, waits for the server to act
// on it, and then closes the connection without passing the server's
// answer on: the client sees an error for a commit that happened.
type commitDropper struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	fired  atomic.Int32
}

func startCommitDropper(t *testing.T, target string) *commitDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &commitDropper{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go d.serve(c)
		}
	}()
	return d
}

func (d *commitDropper) addr() string { return d.ln.Addr().String() }

func (d *commitDropper) serve(client net.Conn) {
	server, err := net.Dial("tcp", d.target)
	if err != nil {
		client.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	defer closeBoth()
	var cut atomic.Bool // set: the server's answers go nowhere
	go func() {
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && !cut.Load() {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			fire := d.armed.Load() && bytes.Contains(bytes.ToUpper(chunk), []byte("COMMIT")) && d.armed.CompareAndSwap(true, false)
			if fire {
				cut.Store(true)
			}
			if _, werr := server.Write(chunk); werr != nil {
				return
			}
			if fire {
				time.Sleep(300 * time.Millisecond) // the server commits
				d.fired.Add(1)
				return // closeBoth: the client never hears back
			}
		}
		if err != nil {
			return
		}
	}
}

// faultyS3 is a gofakes3 server whose DELETE requests can be made to hang
// and whose HEAD requests for keys under a prefix can be made to fail.
type faultyS3 struct {
	hangDel  atomic.Bool
	release  chan struct{}
	failHead atomic.Value // string prefix; "" for none
	deletes  atomic.Int32
	once     sync.Once
}

// unhang lets hung DELETEs through and stops hanging new ones.
func (f *faultyS3) unhang() {
	f.hangDel.Store(false)
	f.once.Do(func() { close(f.release) })
}

// openFaultyS3 starts the server and opens a bucket on it through s3blob.
func openFaultyS3(t *testing.T) (*faultyS3, *blob.Bucket) {
	t.Helper()
	startFakeS3() // the AWS credentials the s3blob opener reads
	backend := s3mem.New()
	name := uniqueName("gt")
	if err := backend.CreateBucket(name); err != nil {
		t.Fatal(err)
	}
	f := &faultyS3{release: make(chan struct{})}
	f.failHead.Store("")
	inner := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete && f.hangDel.Load():
			f.deletes.Add(1)
			select { // a hung request never completes
			case <-f.release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case r.Method == http.MethodHead:
			if p := f.failHead.Load().(string); p != "" && strings.Contains(r.URL.Path, "/"+p) {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		f.unhang()
		srv.Close()
	})
	b, err := OpenBucket(context.Background(), "s3://"+name+"?endpoint="+url.QueryEscape(srv.URL)+"&use_path_style=true&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return f, b
}
