//! My Calls: the stored history, filtered and searched as the window last asked.

use super::Backend;
use crate::convert;
use crate::event::Event;

impl Backend {
    pub(super) fn send_history(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        let (filter, search) = &self.history_query;
        match s
            .store
            .history_page(convert::history_filter(*filter), search, None, 200)
        {
            Ok(rows) => {
                let rows = rows.into_iter().map(convert::history_entry).collect();
                self.emit(Event::History(rows));
            }
            Err(e) => self.notice(e.to_string()),
        }
    }
}
