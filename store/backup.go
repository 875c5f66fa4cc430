package store

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// BackupTo writes a consistent copy of the live database to dst with
// VACUUM INTO. It runs beside a serving process: readers and the writer go on.
func (s *Store) BackupTo(ctx context.Context, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup to %s: file exists", dst)
	}
	// VACUUM INTO takes a file name literal; quote it SQL-style.
	q := "VACUUM INTO '" + strings.ReplaceAll(dst, "'", "''") + "'"
	if _, err := s.reader.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}
