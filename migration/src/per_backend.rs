//! Steps written as raw SQL per backend (triggers, FTS, generated columns), for the migrations
//! that SeaQuery's builders cannot express.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Runs `sqlite` or `postgres`, whichever the connection is; `what` names the step in the
/// error for another backend.
pub(crate) async fn run(
    manager: &SchemaManager<'_>,
    what: &str,
    sqlite: &[&str],
    postgres: &[&str],
) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        other => return Err(DbErr::Migration(format!("{what} is not built for {other:?}"))),
    };
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
