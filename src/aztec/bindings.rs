//! `sol!` bindings for the Aztec L1 contracts butler calls: the StakingRegistry, the Rollup, the GSE (and its
//! BN254 library wrapper) and the ERC-20 staking asset.

#![allow(missing_docs)]

use alloy::sol;

sol! {
    /// A BN254 G1 point (affine).
    #[derive(Debug, PartialEq, Eq)]
    struct G1Point {
        uint256 x;
        uint256 y;
    }

    /// A BN254 G2 point (affine; `x0`/`y0` real parts, `x1`/`y1` imaginary parts).
    #[derive(Debug, PartialEq, Eq)]
    struct G2Point {
        uint256 x0;
        uint256 x1;
        uint256 y0;
        uint256 y1;
    }

    /// One attester's keys as the StakingRegistry queues them.
    #[derive(Debug, PartialEq, Eq)]
    struct KeyStore {
        address attester;
        G1Point publicKeyG1;
        G2Point publicKeyG2;
        G1Point proofOfPossession;
    }

    /// The staking provider registry.
    #[sol(rpc)]
    interface IStakingRegistry {
        event StakedWithProvider(uint256 indexed providerIdentifier, address indexed rollupAddress, address indexed attester, address coinbaseSplitContractAddress, address stakerImplementation);
        event AttestersAddedToProvider(uint256 indexed providerIdentifier, address[] attesters);
        event ProviderQueueDripped(uint256 indexed providerIdentifier, address indexed attester);

        function nextProviderIdentifier() external view returns (uint256);
        function providerConfigurations(uint256 providerIdentifier) external view returns (address admin, uint16 takeRate, address rewardsRecipient);
        function registerProvider(address providerAdmin, uint16 providerTakeRate, address providerRewardsRecipient) external returns (uint256);
        function updateProviderAdmin(uint256 providerIdentifier, address newAdmin) external;
        function acceptProviderAdmin(uint256 providerIdentifier) external;
        function updateProviderTakeRate(uint256 providerIdentifier, uint16 newTakeRate) external;
        function addKeysToProvider(uint256 providerIdentifier, KeyStore[] calldata keyStores) external;
        function getProviderQueueLength(uint256 providerIdentifier) external view returns (uint256);
        function getFirstIndexInQueue(uint256 providerIdentifier) external view returns (uint128);
        function getLastIndexInQueue(uint256 providerIdentifier) external view returns (uint128);
        function getValueAtIndexInQueue(uint256 providerIdentifier, uint128 index) external view returns (KeyStore memory);
    }

    /// An exit in progress.
    #[derive(Debug)]
    struct Exit {
        uint256 withdrawalId;
        uint256 amount;
        uint256 exitableAt;
        address recipientOrWithdrawer;
        bool isRecipient;
        bool exists;
    }

    /// An attester's configuration in the GSE.
    #[derive(Debug)]
    struct AttesterConfig {
        G1Point publicKey;
        address withdrawer;
    }

    /// What `getAttesterView` returns.
    #[derive(Debug)]
    struct AttesterView {
        uint8 status;
        uint256 effectiveBalance;
        Exit exit;
        AttesterConfig config;
    }

    /// A queued deposit.
    #[derive(Debug)]
    struct DepositArgs {
        address attester;
        address withdrawer;
        G1Point publicKeyInG1;
        G2Point publicKeyInG2;
        G1Point proofOfPossession;
        bool moveWithLatestRollup;
    }

    /// The Aztec rollup (staking part).
    #[sol(rpc)]
    interface IRollup {
        event FailedDeposit(address indexed attester, address indexed withdrawer, G1Point publicKeyInG1, G2Point publicKeyInG2, G1Point proofOfPossession);

        function getGSE() external view returns (address);
        function getStakingAsset() external view returns (address);
        function getActivationThreshold() external view returns (uint256);
        function deposit(address attester, address withdrawer, G1Point publicKeyInG1, G2Point publicKeyInG2, G1Point proofOfPossession, bool moveWithLatestRollup) external;
        function flushEntryQueue() external;
        function getEntryQueueLength() external view returns (uint256);
        function getEntryQueueAt(uint256 index) external view returns (DepositArgs memory);
        function getCurrentEpoch() external view returns (uint256);
        function getEpochDuration() external view returns (uint256);
        function getSlotDuration() external view returns (uint256);
        function getEntryQueueFlushSize() external view returns (uint256);
        function getAvailableValidatorFlushes() external view returns (uint256);
        function getNextFlushableEpoch() external view returns (uint256);
        function getIsBootstrapped() external view returns (bool);
        function getAttesterView(address attester) external view returns (AttesterView memory);
        function getActiveAttesterCount() external view returns (uint256);
        function getAttesterAtIndex(uint256 index) external view returns (address);
    }

    /// The Governance Staking Escrow: the registration digest a proof of possession signs.
    #[sol(rpc)]
    interface IGSE {
        function getRegistrationDigest(G1Point publicKey) external view returns (G1Point memory);
    }

    /// The GSE's BN254 library wrapper (deployed by the GSE's constructor).
    #[sol(rpc)]
    interface IBn254LibWrapper {
        function proofOfPossession(G1Point pk1, G2Point pk2, G1Point signature) external view returns (bool);
        function g1ToDigestPoint(G1Point pk1) external view returns (G1Point memory);
    }

    /// The ERC-20 calls butler makes on the staking asset.
    #[sol(rpc)]
    interface IERC20 {
        function approve(address spender, uint256 amount) external returns (bool);
        function allowance(address owner, address spender) external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
    }
}
