// Command gormthumb maintains the thumbnails of a gormthumb application
// from the shell.
//
//	gormthumb regenerate -db DSN -bucket URL -table products -thumb 'CoverThumb=110x150,source=Cover' [-j 4] [-batch 100] [-after KEY] [-dry-run] [-force]
//	gormthumb sweep      -db DSN -bucket URL -table products -thumb 'CoverThumb=110x150,source=Cover' [-min-age 1h] [-dry-run]
//
// regenerate (re)makes the thumbnails of existing rows after a thumb tag was
// added or changed: it walks the table in primary-key batches with -j rows
// at a time, shows a progress bar with rate and ETA on a terminal (plain
// lines every -every otherwise), and ends with a summary of made, skipped
// and failed rows with the failing keys. Interrupted (Ctrl-C), it prints
// the -after value that resumes it. sweep deletes thumbnail blobs that no
// row references; list every table whose thumbnails share the bucket.
//
// The database comes from -db or $GORMTHUMB_DSN: "sqlite:path/to/file.db",
// "postgres://user@host/db" or "host=... dbname=...", "user:pass@tcp(host:3306)/db"
// or "mysql://user:pass@tcp(host:3306)/db". The bucket comes from -bucket or
// $GORMTHUMB_BUCKET: any gocloud.dev/blob URL (file://, s3://, gs://, azblob://).
//
// The command cannot load the application's Go types, so it builds an
// equivalent model from -table, -pk and -thumb (see model.go): give each
// thumbnail field as GoField=<its thumb tag>, with the application's Go
// field names. For anything more (custom naming, composite keys, scopes),
// call gormthumb.Regenerate or Plugin.Sweep from a small main of your own
// with your real model.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gormthumb/gormthumb"
	_ "gocloud.dev/blob/azureblob" // azblob:// buckets
	_ "gocloud.dev/blob/gcsblob"   // gs:// buckets
	_ "gocloud.dev/blob/s3blob"    // s3:// buckets
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  gormthumb regenerate -db DSN -bucket URL -table T -thumb 'Field=WxH,source=Field' [flags]
  gormthumb sweep      -db DSN -bucket URL -table T -thumb 'Field=WxH,source=Field' [flags]
run "gormthumb regenerate -h" or "gormthumb sweep -h" for the flags`

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // some rows failed, or the run failed
	exitUsage  = 2
)

// common holds the flags both subcommands take.
type common struct {
	dsn, bucket string
	models      modelFlags
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dsn, "db", os.Getenv("GORMTHUMB_DSN"), "database DSN (default $GORMTHUMB_DSN): sqlite:FILE, postgres://..., host=... or user@tcp(host)/db")
	fs.StringVar(&c.bucket, "bucket", os.Getenv("GORMTHUMB_BUCKET"), "bucket URL (default $GORMTHUMB_BUCKET): file://, s3://, gs:// or azblob://")
	c.models.register(fs)
}

func (c *common) check() error {
	switch {
	case c.dsn == "":
		return errors.New("no database: give -db or set GORMTHUMB_DSN")
	case c.bucket == "":
		return errors.New("no bucket: give -bucket or set GORMTHUMB_BUCKET")
	case len(c.models.models) == 0:
		return errors.New("no table: give -table and its -thumb fields")
	}
	return nil
}

// run is the whole command, testable: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "regenerate":
		return runRegenerate(ctx, args[1:], stdout, stderr)
	case "sweep":
		return runSweep(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gormthumb: unknown command %q\n%s\n", args[0], usage)
	return exitUsage
}

// opened is the database, bucket and models of one run.
type opened struct {
	db     *gorm.DB
	plugin *gormthumb.Plugin
	models []any
	close  func()
}

// open opens the bucket and the database and builds the models.
func (c *common) open(ctx context.Context) (*opened, error) {
	bucket, err := gormthumb.OpenBucket(ctx, c.bucket)
	if err != nil {
		return nil, err
	}
	var tables []string
	for _, ms := range c.models.models {
		tables = append(tables, ms.table)
	}
	db, err := openDB(c.dsn, tables)
	if err != nil {
		bucket.Close()
		return nil, err
	}
	o := &opened{db: db, plugin: gormthumb.New(bucket)}
	o.close = func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		bucket.Close()
	}
	if err := db.Use(o.plugin); err != nil {
		o.close()
		return nil, err
	}
	for i, ms := range c.models.models {
		model, err := ms.build(i)
		if err == nil {
			err = parseModel(db, model, ms.table)
		}
		if err != nil {
			o.close()
			return nil, err
		}
		o.models = append(o.models, model)
	}
	return o, nil
}

// parseModel parses a model once, in -table order (see tableNamer), and
// checks that its table exists.
func parseModel(db *gorm.DB, model any, table string) error {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	if stmt.Schema.Table != table {
		return fmt.Errorf("internal error: model for %s got table %q", table, stmt.Schema.Table)
	}
	if !db.Migrator().HasTable(table) {
		return fmt.Errorf("table %q not found in the database", table)
	}
	return nil
}

// openDB opens the database named by dsn, with a naming strategy that
// gives the command's models their tables.
func openDB(dsn string, tables []string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard, NamingStrategy: tableNamer{tables: tables, next: new(int)}}
	dialector, err := dialectorFor(dsn)
	if err != nil {
		return nil, err
	}
	return gorm.Open(dialector, cfg)
}

// dialectorFor picks the GORM driver from the form of the DSN.
func dialectorFor(dsn string) (gorm.Dialector, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		file := strings.TrimPrefix(dsn, "sqlite:")
		// Concurrent writers wait for each other instead of failing.
		for _, p := range []string{"_busy_timeout=10000", "_txlock=immediate"} {
			if !strings.Contains(file, strings.SplitN(p, "=", 2)[0]+"=") {
				sep := "?"
				if strings.Contains(file, "?") {
					sep = "&"
				}
				file += sep + p
			}
		}
		return sqlite.Open(file), nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"),
		strings.Contains(dsn, "host=") || strings.Contains(dsn, "dbname="):
		return postgres.Open(dsn), nil
	case strings.HasPrefix(dsn, "mysql://"):
		return mysql.Open(withParseTime(strings.TrimPrefix(dsn, "mysql://"))), nil
	case strings.Contains(dsn, "@tcp(") || strings.Contains(dsn, "@unix("):
		return mysql.Open(withParseTime(dsn)), nil
	}
	return nil, fmt.Errorf("cannot tell the database from the DSN %q: use sqlite:FILE, postgres://..., host=... dbname=..., or user@tcp(host:3306)/db", redact(dsn))
}

func withParseTime(dsn string) string {
	if strings.Contains(dsn, "parseTime=") {
		return dsn
	}
	if strings.Contains(dsn, "?") {
		return dsn + "&parseTime=true"
	}
	return dsn + "?parseTime=true"
}

// redact hides a password in a DSN for messages.
func redact(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		return "…" + dsn[at:]
	}
	return dsn
}

func runRegenerate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gormthumb regenerate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	jobs := fs.Int("j", 4, "rows processed at once")
	batch := fs.Int("batch", 100, "primary keys read per query")
	after := fs.String("after", "", "resume: only rows whose primary key is greater than this (single -table)")
	dryRun := fs.Bool("dry-run", false, "count what would be made; write nothing")
	force := fs.Bool("force", false, "remake every thumbnail, up to date or not (after originals were overwritten in place)")
	every := fs.Duration("every", 10*time.Second, "interval of the plain progress lines when not on a terminal")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(stderr, "gormthumb regenerate:", err)
		return exitUsage
	}
	if *after != "" && len(c.models.models) > 1 {
		fmt.Fprintln(stderr, "gormthumb regenerate: -after needs a single -table")
		return exitUsage
	}
	o, err := c.open(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb regenerate:", err)
		return exitFailed
	}
	defer o.close()
	code := exitOK
	for i, ms := range c.models.models {
		label := ms.table
		if *dryRun {
			label += " (dry run)"
		}
		prog := newProgress(stderr, label, *every)
		opts := gormthumb.RegenerateOptions{BatchSize: *batch, Concurrency: *jobs, DryRun: *dryRun, Force: *force, Progress: prog.update}
		if *after != "" {
			opts.After = *after
		}
		rep, err := gormthumb.Regenerate(ctx, o.db, o.models[i], opts)
		prog.finish()
		printRegenerateReport(stdout, ms.table, rep, *dryRun)
		if err != nil {
			fmt.Fprintf(stderr, "gormthumb regenerate: %s: %v\n", ms.table, err)
			if rep != nil && rep.LastKey != nil {
				fmt.Fprintf(stderr, "resume with: -after %v\n", rep.LastKey)
			}
			return exitFailed
		}
		if len(rep.Failed) > 0 {
			code = exitFailed
		}
	}
	return code
}

// maxFailuresShown bounds the failure lines of the summary.
const maxFailuresShown = 100

func printRegenerateReport(w io.Writer, table string, rep *gormthumb.RegenerateReport, dryRun bool) {
	if rep == nil {
		return
	}
	verb := "made"
	if dryRun {
		verb = "to make"
	}
	fmt.Fprintf(w, "%s: %d rows: %d %s, %d skipped (up to date), %d failed\n", table, rep.Rows, rep.Made, verb, rep.Skipped, len(rep.Failed))
	for i, f := range rep.Failed {
		if i == maxFailuresShown {
			fmt.Fprintf(w, "  ... and %d more failed rows\n", len(rep.Failed)-i)
			break
		}
		fmt.Fprintf(w, "  failed %v: %v\n", f.Key, f.Err)
	}
}

func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gormthumb sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	dryRun := fs.Bool("dry-run", false, "list the orphans; delete nothing")
	minAge := fs.Duration("min-age", gormthumb.DefaultSweepMinAge, "keep blobs younger than this (uncommitted writes)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(stderr, "gormthumb sweep:", err)
		return exitUsage
	}
	o, err := c.open(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "gormthumb sweep:", err)
		return exitFailed
	}
	defer o.close()
	rep, err := o.plugin.Sweep(ctx, o.db, gormthumb.SweepOptions{Models: o.models, DryRun: *dryRun, MinAge: *minAge})
	if err != nil && (rep == nil || len(rep.Failed) == 0) {
		fmt.Fprintln(stderr, "gormthumb sweep:", err)
		return exitFailed
	}
	verb := "deleted"
	if *dryRun {
		verb = "deleted (dry run)"
	}
	fmt.Fprintf(stdout, "sweep: %d thumbnail blobs checked, %d orphans, %d %s\n", rep.Checked, len(rep.Orphans), len(rep.Deleted), verb)
	for _, k := range rep.Orphans {
		fmt.Fprintln(stdout, "  orphan", k)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gormthumb sweep: %d blobs could not be looked at: %v\n", len(rep.Failed), err)
		return exitFailed
	}
	return exitOK
}
