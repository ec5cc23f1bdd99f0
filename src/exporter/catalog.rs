//! Every metric butler's exporter emits: name, type, labels and help text. `docs/metrics.md` documents
//! exactly this list (a test compares them), and the renderer builds each family from its entry here.

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

impl Kind {
    /// The name the text exposition format uses in `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

/// A gauge's definition.
pub const fn gauge(
    name: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: Kind::Gauge,
        labels,
        help,
    }
}

/// A counter's definition.
pub const fn counter(
    name: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: Kind::Counter,
        labels,
        help,
    }
}

/// A histogram's definition (`labels` without `le`).
pub const fn histogram(
    name: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: Kind::Histogram,
        labels,
        help,
    }
}

const PM: &[&str] = &["name", "paymaster", "entrypoint"];
const BUNDLER: &[&str] = &["bundler"];

pub const CHAIN_UP: MetricDef = gauge(
    "butler_chain_up",
    &[],
    "1 when the chain RPC answered every chain query of this scrape within the timeout and serves the configured chain id, else 0.",
);
pub const CHAIN_ID: MetricDef = gauge("butler_chain_id", &[], "Chain id reported by eth_chainId.");
pub const CHAIN_HEAD_BLOCK: MetricDef = gauge(
    "butler_chain_head_block",
    &[],
    "Number of the latest block.",
);
pub const CHAIN_HEAD_BLOCK_TIMESTAMP: MetricDef = gauge(
    "butler_chain_head_block_timestamp_seconds",
    &[],
    "Unix time of the latest block.",
);
pub const CHAIN_GAS_PRICE: MetricDef = gauge(
    "butler_chain_gas_price_wei",
    &[],
    "Gas price from eth_gasPrice, in wei.",
);
pub const CHAIN_BASE_FEE: MetricDef = gauge(
    "butler_chain_base_fee_wei",
    &[],
    "Base fee per gas of the latest block, in wei; absent on chains without a base fee.",
);
pub const CHAIN_SYNCING: MetricDef = gauge(
    "butler_chain_syncing",
    &[],
    "1 while the node reports that it is syncing (eth_syncing), else 0.",
);
pub const CHAIN_PEERS: MetricDef = gauge(
    "butler_chain_peers",
    &[],
    "Peer count from net_peerCount; absent when the node refuses the method.",
);
pub const CHAIN_RPC_LATENCY: MetricDef = gauge(
    "butler_chain_rpc_latency_seconds",
    &[],
    "Round trip of eth_blockNumber to the chain RPC during this scrape, in seconds.",
);

pub const PAYMASTER_UP: MetricDef = gauge(
    "butler_paymaster_up",
    PM,
    "1 when every value of this paymaster was read within the timeout, else 0 (its other series are then absent).",
);
pub const PAYMASTER_DEPOSIT: MetricDef = gauge(
    "butler_paymaster_deposit_wei",
    PM,
    "The paymaster's deposit in its EntryPoint (getDepositInfo deposit), in wei.",
);
pub const PAYMASTER_MIN_DEPOSIT: MetricDef = gauge(
    "butler_paymaster_min_deposit_wei",
    PM,
    "The paymaster's configured min_deposit_eth, in wei; absent when none is set. Exported even when the paymaster cannot be read.",
);
pub const PAYMASTER_BALANCE: MetricDef = gauge(
    "butler_paymaster_balance_wei",
    PM,
    "ETH balance of the paymaster contract itself, in wei.",
);
pub const PAYMASTER_STAKE: MetricDef = gauge(
    "butler_paymaster_stake_wei",
    PM,
    "The paymaster's stake in its EntryPoint (getDepositInfo stake), in wei.",
);
pub const PAYMASTER_STAKED: MetricDef = gauge(
    "butler_paymaster_staked",
    PM,
    "1 when the EntryPoint reports the paymaster as staked, else 0.",
);
pub const PAYMASTER_UNSTAKE_DELAY: MetricDef = gauge(
    "butler_paymaster_unstake_delay_seconds",
    PM,
    "Unstake delay of the paymaster's stake, in seconds.",
);
pub const PAYMASTER_WITHDRAW_TIME: MetricDef = gauge(
    "butler_paymaster_withdraw_time_seconds",
    PM,
    "Unix time from which the stake can be withdrawn; 0 when no unlock is pending.",
);
pub const PAYMASTER_SPONSORED_USEROPS: MetricDef = gauge(
    "butler_paymaster_sponsored_userops",
    PM,
    "UserOperations this paymaster paid for in the recent window (UserOperationEvent logs, successful or reverted).",
);
pub const PAYMASTER_SPEND: MetricDef = gauge(
    "butler_paymaster_spend_wei",
    PM,
    "Sum of actualGasCost of the UserOperations this paymaster paid for in the recent window, in wei.",
);
pub const PAYMASTER_RUNWAY: MetricDef = gauge(
    "butler_paymaster_runway_seconds",
    PM,
    "Seconds until the deposit runs dry at the recent window's spend rate; +Inf when nothing was spent in the window.",
);

pub const BUNDLER_UP: MetricDef = gauge(
    "butler_bundler_up",
    BUNDLER,
    "1 when the bundler answered eth_chainId with the chain's id and eth_supportedEntryPoints within the timeout, else 0.",
);
pub const BUNDLER_RPC_LATENCY: MetricDef = gauge(
    "butler_bundler_rpc_latency_seconds",
    BUNDLER,
    "Round trip of eth_chainId to the bundler during this scrape, in seconds.",
);
pub const BUNDLER_SUPPORTED_ENTRYPOINTS: MetricDef = gauge(
    "butler_bundler_supported_entrypoints",
    BUNDLER,
    "Number of EntryPoints the bundler lists in eth_supportedEntryPoints.",
);
pub const BUNDLER_ENTRYPOINT_SUPPORTED: MetricDef = gauge(
    "butler_bundler_entrypoint_supported",
    &["bundler", "entrypoint"],
    "1 when the bundler lists this configured EntryPoint in eth_supportedEntryPoints, else 0.",
);
pub const BUNDLER_MEMPOOL_USEROPS: MetricDef = gauge(
    "butler_bundler_mempool_userops",
    BUNDLER,
    "UserOperations in the bundler's mempool over its supported EntryPoints; absent when debug_bundler_dumpMempool is not enabled.",
);
pub const BUNDLER_EXECUTOR_BALANCE: MetricDef = gauge(
    "butler_bundler_executor_balance_wei",
    &["bundler", "address"],
    "ETH balance of a configured executor address of the bundler, in wei; absent when the chain RPC did not answer.",
);

pub const PROBE_UP: MetricDef = gauge(
    "butler_probe_up",
    &["probe"],
    "1 when the probe's JSON-RPC method answered within the timeout with a number at its path, else 0.",
);
pub const PROBE_VALUE: MetricDef = gauge(
    "butler_probe_value",
    &["probe"],
    "The number the probe read from its method's result (at its path); absent when the probe failed.",
);
pub const AZTEC_UP: MetricDef = gauge(
    "butler_aztec_up",
    &[],
    "1 when the Aztec node answered node_getNodeInfo for the L1 chain and every Aztec read of this scrape succeeded, else 0 (the other butler_aztec_ series are then absent).",
);
pub const AZTEC_PUBLISHER_BALANCE: MetricDef = gauge(
    "butler_aztec_publisher_balance_wei",
    &["publisher"],
    "ETH balance of a configured publisher, in wei.",
);
pub const AZTEC_PUBLISHER_REQUIRED_TOPUP: MetricDef = gauge(
    "butler_aztec_publisher_required_topup_wei",
    &["publisher"],
    "ETH a publisher lacks to hold ceil(attesters / publishers) x min_eth_per_attester, in wei; 0 when it holds enough.",
);
pub const AZTEC_ATTESTERS: MetricDef = gauge(
    "butler_aztec_attesters",
    &["state"],
    "Keystore attesters by state (NEW, IN_STAKING_PROVIDER_QUEUE, ROLLUP_ENTRY_QUEUE, ACTIVE, NO_LONGER_ACTIVE), derived from on-chain reads.",
);
pub const AZTEC_ATTESTERS_MISSING_COINBASE: MetricDef = gauge(
    "butler_aztec_attesters_missing_coinbase",
    &[],
    "Keystore attesters in the rollup's entry queue or ACTIVE that have no coinbase in the keystore.",
);
pub const AZTEC_PROVIDER_QUEUE_LENGTH: MetricDef = gauge(
    "butler_aztec_provider_queue_length",
    &[],
    "Keys waiting in the provider's StakingRegistry queue; absent without staking_registry and provider_id.",
);
pub const AZTEC_ENTRY_QUEUE_LENGTH: MetricDef = gauge(
    "butler_aztec_entry_queue_length",
    &[],
    "Deposits waiting in the rollup's entry queue (getEntryQueueLength).",
);
pub const AZTEC_NEXT_FLUSHABLE_EPOCH: MetricDef = gauge(
    "butler_aztec_next_flushable_epoch",
    &[],
    "The epoch from which the rollup's entry queue can be flushed again (getNextFlushableEpoch).",
);

pub const BUILD_INFO: MetricDef = gauge(
    "butler_build_info",
    &["version", "commit"],
    "Always 1; the labels name the running butler's version and source commit.",
);
pub const SCRAPE_DURATION: MetricDef = gauge(
    "butler_scrape_duration_seconds",
    &["collector"],
    "Wall time a collector (chain, paymaster, bundler, aztec) took in this scrape, in seconds.",
);
pub const SCRAPE_SUCCESS: MetricDef = gauge(
    "butler_scrape_success",
    &["collector"],
    "1 when every target of the collector (chain, paymaster, bundler, aztec) succeeded in this scrape, else 0.",
);

pub const TOPUP_LAST_RUN: MetricDef = gauge(
    "butler_topup_last_run_timestamp_seconds",
    &["paymaster"],
    "Unix time of the latest record of this paymaster in the top-up audit file (DATA_DIR/topup/audit.ndjson).",
);
pub const TOPUP_FAILURES: MetricDef = MetricDef {
    name: "butler_topup_failures_total",
    kind: Kind::Counter,
    labels: &["paymaster"],
    help: "Records of this paymaster in the top-up audit file whose action is failed.",
};
pub const TOPUP_LAST_FAILED: MetricDef = gauge(
    "butler_topup_last_failed",
    &["paymaster"],
    "1 when the latest top-up decision of this paymaster was failed or refused, else 0.",
);

/// Every `butler_` metric, in documentation order.
pub const ALL: &[MetricDef] = &[
    CHAIN_UP,
    CHAIN_ID,
    CHAIN_HEAD_BLOCK,
    CHAIN_HEAD_BLOCK_TIMESTAMP,
    CHAIN_GAS_PRICE,
    CHAIN_BASE_FEE,
    CHAIN_SYNCING,
    CHAIN_PEERS,
    CHAIN_RPC_LATENCY,
    PAYMASTER_UP,
    PAYMASTER_DEPOSIT,
    PAYMASTER_MIN_DEPOSIT,
    PAYMASTER_BALANCE,
    PAYMASTER_STAKE,
    PAYMASTER_STAKED,
    PAYMASTER_UNSTAKE_DELAY,
    PAYMASTER_WITHDRAW_TIME,
    PAYMASTER_SPONSORED_USEROPS,
    PAYMASTER_SPEND,
    PAYMASTER_RUNWAY,
    BUNDLER_UP,
    BUNDLER_RPC_LATENCY,
    BUNDLER_SUPPORTED_ENTRYPOINTS,
    BUNDLER_ENTRYPOINT_SUPPORTED,
    BUNDLER_MEMPOOL_USEROPS,
    BUNDLER_EXECUTOR_BALANCE,
    PROBE_UP,
    PROBE_VALUE,
    AZTEC_UP,
    AZTEC_PUBLISHER_BALANCE,
    AZTEC_PUBLISHER_REQUIRED_TOPUP,
    AZTEC_ATTESTERS,
    AZTEC_ATTESTERS_MISSING_COINBASE,
    AZTEC_PROVIDER_QUEUE_LENGTH,
    AZTEC_ENTRY_QUEUE_LENGTH,
    AZTEC_NEXT_FLUSHABLE_EPOCH,
    BUILD_INFO,
    SCRAPE_DURATION,
    SCRAPE_SUCCESS,
    TOPUP_LAST_RUN,
    TOPUP_FAILURES,
    TOPUP_LAST_FAILED,
    crate::chain::metrics::RPC_REQUESTS,
    crate::chain::metrics::RPC_REQUEST_DURATION,
    crate::chain::metrics::RPC_URL_HEALTHY,
];
