"""Shulian matching (蜀联·撮合): 市场下单、企业抢单、人才接单 across the province's nodes."""
