package gormthumb

// Backends that need more than the standard library: S3 through an
// in-process gofakes3 server (always on), and PostgreSQL and MySQL/MariaDB
// servers named by environment variables (skipped, saying so, when unset).
// Every test gets its own bucket, schema or database, dropped at cleanup, so
// runs never see each other's rows or blobs.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-sql-driver/mysql"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs, as an application would open them
	mysqldriver "gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the admin connection
)

// The environment variables that turn on the server-backed databases.
const (
	postgresDSNVar = "GORMTHUMB_TEST_POSTGRES_DSN" // e.g. "host=127.0.0.1 user=postgres dbname=test sslmode=disable"
	mysqlDSNVar    = "GORMTHUMB_TEST_MYSQL_DSN"    // e.g. "root@tcp(127.0.0.1:3306)/test"
)

// uniqueName returns a fresh lower-case identifier for a bucket, schema or
// database: safe in SQL without quoting and in an S3 bucket name.
func uniqueName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%d%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))
}

// ---------------------------------------------------------------------------
// S3: one gofakes3 server on loopback for the whole test binary, one bucket
// per test, opened through gocloud's s3blob driver and the AWS SDK by URL.

var fakeS3 struct {
	once    sync.Once
	backend *s3mem.Backend
	url     string
}

func startFakeS3() {
	fakeS3.once.Do(func() {
		fakeS3.backend = s3mem.New()
		srv := httptest.NewServer(gofakes3.New(fakeS3.backend).Server())
		fakeS3.url = srv.URL // lives as long as the test binary
		// The s3blob URL opener takes credentials from the SDK's default
		// chain, as in production; gofakes3 accepts any.
		os.Setenv("AWS_ACCESS_KEY_ID", "gormthumb-test")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "gormthumb-test-secret")
		os.Unsetenv("AWS_PROFILE")
	})
}

// s3URL returns the gocloud URL of a fresh bucket on the fake S3 server.
func s3URL(t testing.TB) string {
	t.Helper()
	startFakeS3()
	name := uniqueName("gt")
	if err := fakeS3.backend.CreateBucket(name); err != nil {
		t.Fatalf("fake S3: create bucket %s: %v", name, err)
	}
	return "s3://" + name + "?endpoint=" + url.QueryEscape(fakeS3.url) + "&use_path_style=true&region=us-east-1"
}

func openS3Bucket(t *testing.T) *blob.Bucket {
	t.Helper()
	b, err := OpenBucket(context.Background(), s3URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------------------
// PostgreSQL: a fresh schema per test on the server named by the DSN, made
// the connection's search_path, dropped with CASCADE at cleanup.

func openPostgres(t testing.TB, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	dsn := os.Getenv(postgresDSNVar)
	if dsn == "" {
		t.Skipf("PostgreSQL not tested: set %s (e.g. %q) to run the suite against a server", postgresDSNVar, "host=127.0.0.1 user=postgres dbname=test sslmode=disable")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresDSNVar, err)
	}
	defer admin.Close()
	schema := uniqueName("gormthumb_")
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL from %s: create schema: %v", postgresDSNVar, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err == nil {
			defer admin.Close()
			_, err = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		}
		if err != nil {
			t.Errorf("PostgreSQL: drop schema %s: %v", schema, err)
		}
	})
	db, err := gorm.Open(postgres.Open(withSearchPath(dsn, schema)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// withSearchPath adds a search_path run-time parameter to a URL or
// key=value PostgreSQL DSN.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}

// ---------------------------------------------------------------------------
// MySQL / MariaDB: a fresh database per test, dropped at cleanup.

func openMySQL(t *testing.T, cfg *gorm.Config) *gorm.DB {
	return openMySQLAs(t, cfg, "")
}

// openMySQLAs opens the MySQL test database telling GORM the server is
// serverVersion ("" asks the server): "8.0.36" makes GORM use MySQL's
// dialect (no RETURNING, affected rows count changed rows) on MariaDB.
func openMySQLAs(t *testing.T, cfg *gorm.Config, serverVersion string) *gorm.DB {
	t.Helper()
	dsn := os.Getenv(mysqlDSNVar)
	if dsn == "" {
		t.Skipf("MySQL not tested: set %s (e.g. %q) to run the suite against a server", mysqlDSNVar, "root@tcp(127.0.0.1:3306)/test")
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", mysqlDSNVar, err)
	}
	mc.ParseTime = true
	adminCfg := *mc
	adminCfg.DBName = ""
	admin, err := sql.Open("mysql", adminCfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := uniqueName("gormthumb_")
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("MySQL from %s: create database: %v", mysqlDSNVar, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("mysql", adminCfg.FormatDSN())
		if err == nil {
			defer admin.Close()
			_, err = admin.Exec("DROP DATABASE " + name)
		}
		if err != nil {
			t.Errorf("MySQL: drop database %s: %v", name, err)
		}
	})
	mc.DBName = name
	db, err := gorm.Open(mysqldriver.New(mysqldriver.Config{DSN: mc.FormatDSN(), ServerVersion: serverVersion, SkipInitializeWithVersion: serverVersion != ""}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestBackendIsolation checks what the server backends promise: each test
// gets an empty database of its own that is gone afterwards, and S3 is
// really reached over HTTP by the s3blob driver.
func TestBackendIsolation(t *testing.T) {
	for _, d := range dbBackends {
		t.Run(d.name, func(t *testing.T) {
			var first *gorm.DB
			t.Run("a", func(t *testing.T) {
				first = d.open(t, &gorm.Config{})
				if err := first.AutoMigrate(&Product{}); err != nil {
					t.Fatal(err)
				}
				first.Create(&Product{Name: "only in a"})
			})
			t.Run("b", func(t *testing.T) {
				second := d.open(t, &gorm.Config{})
				if err := second.AutoMigrate(&Product{}); err != nil {
					t.Fatal(err)
				}
				var n int64
				second.Model(&Product{}).Count(&n)
				if n != 0 {
					t.Fatalf("a fresh %s database sees %d rows of another test", d.name, n)
				}
			})
		})
	}
	t.Run("s3", func(t *testing.T) {
		b := openS3Bucket(t)
		defer b.Close()
		ctx := context.Background()
		if err := b.WriteAll(ctx, "x/y.jpg", jpegBytes(t, 8, 8), nil); err != nil {
			t.Fatal(err)
		}
		var client *s3.Client
		if !b.As(&client) {
			t.Fatal("the s3:// URL did not open an s3blob bucket")
		}
		u, err := b.SignedURL(ctx, "x/y.jpg", nil)
		if err != nil || !strings.HasPrefix(u, fakeS3.url+"/") || !strings.Contains(u, "X-Amz-Signature") {
			t.Fatalf("SignedURL = %q, %v: not a presigned URL on the loopback server", u, err)
		}
	})
}

// sameDatabase returns a dialector for the database db is connected to (its
// test schema or database included), reached through addr ("host:port")
// when addr is not "": a second pool for dbresolver's Sources, or a
// connection through a fault-injecting proxy.
func sameDatabase(t *testing.T, db *gorm.DB, addr string) gorm.Dialector {
	t.Helper()
	switch d := db.Dialector.(type) {
	case *sqlite.Dialector:
		return sqlite.Open(d.DSN)
	case *postgres.Dialector:
		dsn := d.Config.DSN
		if addr != "" {
			host, port, _ := strings.Cut(addr, ":")
			var kept []string
			for _, kv := range strings.Fields(dsn) {
				if !strings.HasPrefix(kv, "host=") && !strings.HasPrefix(kv, "port=") {
					kept = append(kept, kv)
				}
			}
			dsn = strings.Join(append(kept, "host="+host, "port="+port), " ")
		}
		return postgres.Open(dsn)
	case *mysqldriver.Dialector:
		mc, err := mysql.ParseDSN(d.Config.DSN)
		if err != nil {
			t.Fatal(err)
		}
		if addr != "" {
			mc.Addr = addr
		}
		return mysqldriver.New(mysqldriver.Config{DSN: mc.FormatDSN(), ServerVersion: d.Config.ServerVersion, SkipInitializeWithVersion: d.Config.SkipInitializeWithVersion})
	}
	t.Fatalf("sameDatabase: %T", db.Dialector)
	return nil
}

// serverAddr is the host:port of a server database's connection.
func serverAddr(t *testing.T, db *gorm.DB) string {
	t.Helper()
	switch d := db.Dialector.(type) {
	case *postgres.Dialector:
		host, port := "127.0.0.1", "5432"
		for _, kv := range strings.Fields(d.Config.DSN) {
			if v, ok := strings.CutPrefix(kv, "host="); ok {
				host = v
			}
			if v, ok := strings.CutPrefix(kv, "port="); ok {
				port = v
			}
		}
		return host + ":" + port
	case *mysqldriver.Dialector:
		mc, err := mysql.ParseDSN(d.Config.DSN)
		if err != nil {
			t.Fatal(err)
		}
		return mc.Addr
	}
	return ""
}
