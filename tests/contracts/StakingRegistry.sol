// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// A StakingRegistry for tests, ABI-compatible with the calls and events butler uses: providers (admin, take rate,
// rewards recipient; ids from 1), a two-step admin change, a per-provider key queue, and `stake`, which takes the
// next key of a provider's queue, deposits it into the rollup with the caller's staking asset, deploys a coinbase
// split contract for it and emits StakedWithProvider.

struct G1Point {
    uint256 x;
    uint256 y;
}

struct G2Point {
    uint256 x0;
    uint256 x1;
    uint256 y0;
    uint256 y1;
}

struct KeyStore {
    address attester;
    G1Point publicKeyG1;
    G2Point publicKeyG2;
    G1Point proofOfPossession;
}

struct ProviderConfiguration {
    address admin;
    uint16 takeRate;
    address rewardsRecipient;
}

interface IStakingAsset {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

interface IRollupStaking {
    function getActivationThreshold() external view returns (uint256);
    function getStakingAsset() external view returns (address);
    function deposit(
        address attester,
        address withdrawer,
        G1Point memory publicKeyInG1,
        G2Point memory publicKeyInG2,
        G1Point memory proofOfPossession,
        bool moveWithLatestRollup
    ) external;
}

/// Stands in for the rewards split contract that becomes an attester's coinbase.
contract CoinbaseSplit {
    address public immutable providerRecipient;
    address public immutable staker;
    uint16 public immutable takeRate;

    constructor(address _providerRecipient, address _staker, uint16 _takeRate) {
        providerRecipient = _providerRecipient;
        staker = _staker;
        takeRate = _takeRate;
    }
}

contract StakingRegistry {
    uint256 public nextProviderIdentifier = 1;
    mapping(uint256 => ProviderConfiguration) public providerConfigurations;
    mapping(uint256 => address) public pendingProviderAdmin;

    mapping(uint256 => mapping(uint128 => KeyStore)) internal queueValues;
    mapping(uint256 => uint128) internal queueFirst;
    mapping(uint256 => uint128) internal queueLast;

    event ProviderRegistered(uint256 indexed providerIdentifier, address indexed providerAdmin, uint16 indexed providerTakeRate);
    event ProviderAdminUpdateInitiated(uint256 indexed providerIdentifier, address indexed newAdmin);
    event ProviderAdminUpdated(uint256 indexed providerIdentifier, address indexed newAdmin);
    event ProviderTakeRateUpdated(uint256 indexed providerIdentifier, uint16 newTakeRate);
    event AttestersAddedToProvider(uint256 indexed providerIdentifier, address[] attesters);
    event ProviderQueueDripped(uint256 indexed providerIdentifier, address indexed attester);
    event StakedWithProvider(
        uint256 indexed providerIdentifier,
        address indexed rollupAddress,
        address indexed attester,
        address coinbaseSplitContractAddress,
        address stakerImplementation
    );

    error NotProviderAdmin(uint256 providerIdentifier, address caller);
    error NotPendingAdmin(uint256 providerIdentifier, address caller);
    error InvalidTakeRate(uint16 takeRate);
    error UnknownProvider(uint256 providerIdentifier);
    error QueueEmpty(uint256 providerIdentifier);
    error IndexOutOfBounds(uint256 providerIdentifier, uint128 index);

    modifier onlyAdmin(uint256 id) {
        if (providerConfigurations[id].admin != msg.sender) revert NotProviderAdmin(id, msg.sender);
        _;
    }

    function registerProvider(address providerAdmin, uint16 providerTakeRate, address providerRewardsRecipient)
        external
        returns (uint256 id)
    {
        if (providerTakeRate > 10_000) revert InvalidTakeRate(providerTakeRate);
        id = nextProviderIdentifier++;
        providerConfigurations[id] = ProviderConfiguration(providerAdmin, providerTakeRate, providerRewardsRecipient);
        emit ProviderRegistered(id, providerAdmin, providerTakeRate);
    }

    function updateProviderAdmin(uint256 providerIdentifier, address newAdmin) external onlyAdmin(providerIdentifier) {
        pendingProviderAdmin[providerIdentifier] = newAdmin;
        emit ProviderAdminUpdateInitiated(providerIdentifier, newAdmin);
    }

    function acceptProviderAdmin(uint256 providerIdentifier) external {
        if (pendingProviderAdmin[providerIdentifier] != msg.sender || msg.sender == address(0)) {
            revert NotPendingAdmin(providerIdentifier, msg.sender);
        }
        providerConfigurations[providerIdentifier].admin = msg.sender;
        delete pendingProviderAdmin[providerIdentifier];
        emit ProviderAdminUpdated(providerIdentifier, msg.sender);
    }

    function updateProviderTakeRate(uint256 providerIdentifier, uint16 newTakeRate)
        external
        onlyAdmin(providerIdentifier)
    {
        if (newTakeRate > 10_000) revert InvalidTakeRate(newTakeRate);
        providerConfigurations[providerIdentifier].takeRate = newTakeRate;
        emit ProviderTakeRateUpdated(providerIdentifier, newTakeRate);
    }

    function addKeysToProvider(uint256 providerIdentifier, KeyStore[] calldata keyStores)
        external
        onlyAdmin(providerIdentifier)
    {
        address[] memory attesters = new address[](keyStores.length);
        uint128 last = queueLast[providerIdentifier];
        for (uint256 i = 0; i < keyStores.length; i++) {
            queueValues[providerIdentifier][last] = keyStores[i];
            last++;
            attesters[i] = keyStores[i].attester;
        }
        queueLast[providerIdentifier] = last;
        emit AttestersAddedToProvider(providerIdentifier, attesters);
    }

    function getProviderQueueLength(uint256 providerIdentifier) external view returns (uint256) {
        return queueLast[providerIdentifier] - queueFirst[providerIdentifier];
    }

    function getFirstIndexInQueue(uint256 providerIdentifier) external view returns (uint128) {
        return queueFirst[providerIdentifier];
    }

    /// One past the last queued key.
    function getLastIndexInQueue(uint256 providerIdentifier) external view returns (uint128) {
        return queueLast[providerIdentifier];
    }

    function getValueAtIndexInQueue(uint256 providerIdentifier, uint128 index) external view returns (KeyStore memory) {
        if (index < queueFirst[providerIdentifier] || index >= queueLast[providerIdentifier]) {
            revert IndexOutOfBounds(providerIdentifier, index);
        }
        return queueValues[providerIdentifier][index];
    }

    /// Stakes the caller's activation threshold with the provider's next queued key.
    function stake(uint256 providerIdentifier, address rollup, address withdrawer, bool moveWithLatestRollup) external {
        ProviderConfiguration memory provider = providerConfigurations[providerIdentifier];
        if (provider.admin == address(0)) revert UnknownProvider(providerIdentifier);
        uint128 first = queueFirst[providerIdentifier];
        if (first >= queueLast[providerIdentifier]) revert QueueEmpty(providerIdentifier);
        KeyStore memory key = queueValues[providerIdentifier][first];
        delete queueValues[providerIdentifier][first];
        queueFirst[providerIdentifier] = first + 1;
        emit ProviderQueueDripped(providerIdentifier, key.attester);

        IRollupStaking r = IRollupStaking(rollup);
        uint256 amount = r.getActivationThreshold();
        IStakingAsset asset = IStakingAsset(r.getStakingAsset());
        asset.transferFrom(msg.sender, address(this), amount);
        asset.approve(rollup, amount);
        r.deposit(key.attester, withdrawer, key.publicKeyG1, key.publicKeyG2, key.proofOfPossession, moveWithLatestRollup);

        CoinbaseSplit split = new CoinbaseSplit(provider.rewardsRecipient, msg.sender, provider.takeRate);
        emit StakedWithProvider(providerIdentifier, rollup, key.attester, address(split), msg.sender);
    }
}
