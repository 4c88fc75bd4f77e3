"""Upstream clients: one small interface (`base.Provider`) over the Mini Program shop API and WeChat Pay APIv3."""
