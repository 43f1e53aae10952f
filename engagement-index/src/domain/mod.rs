//! The rules of the engagement index, free of HTTP and SQL.
