//! Source offset storage. Standalone mode keeps offsets in a file
//! (`offset.storage.file.filename`), rewritten atomically (temp file + rename).
