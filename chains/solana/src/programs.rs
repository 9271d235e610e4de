//! Well-known programs and their error codes: what a `Custom(n)` means for the System program,
//! SPL Token and Token-2022, the Associated Token Account program, the Vote program, and the
//! Anchor framework's own codes.
//!
//! The names and messages are the programs' own (their `#[error("…")]` / `#[msg("…")]` texts),
//! so that a support person can search for them.

/// The System program.
pub(crate) const SYSTEM: &str = "11111111111111111111111111111111";
/// The SPL Token program.
pub(crate) const TOKEN: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/// The SPL Token-2022 program.
pub(crate) const TOKEN_2022: &str = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
/// The Associated Token Account program.
pub(crate) const ATA: &str = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
/// The Compute Budget program.
pub(crate) const COMPUTE_BUDGET: &str = "ComputeBudget111111111111111111111111111111";
/// The Vote program.
pub(crate) const VOTE: &str = "Vote111111111111111111111111111111111111111";

/// The name of a well-known program, if `id` is one.
pub(crate) fn name(id: &str) -> Option<&'static str> {
    Some(match id {
        SYSTEM => "System Program",
        TOKEN => "SPL Token",
        TOKEN_2022 => "SPL Token-2022",
        ATA => "Associated Token Account",
        COMPUTE_BUDGET => "Compute Budget",
        VOTE => "Vote Program",
        "Stake11111111111111111111111111111111111111" => "Stake Program",
        "AddressLookupTab1e1111111111111111111111111" => "Address Lookup Table",
        "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr" => "SPL Memo",
        "BPFLoaderUpgradeab1e11111111111111111111111" => "BPF Upgradeable Loader",
        _ => return None,
    })
}

/// A custom error code's name and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KnownError {
    /// The variant name, e.g. `InsufficientFunds`.
    pub(crate) name: &'static str,
    /// The program's message for it.
    pub(crate) message: &'static str,
}

const fn e(name: &'static str, message: &'static str) -> KnownError {
    KnownError { name, message }
}

/// `solana_system_interface::error::SystemError`, by code.
const SYSTEM_ERRORS: &[KnownError] = &[
    e(
        "AccountAlreadyInUse",
        "an account with the same address already exists",
    ),
    e(
        "ResultWithNegativeLamports",
        "account does not have enough SOL to perform the operation",
    ),
    e(
        "InvalidProgramId",
        "cannot assign account to this program id",
    ),
    e(
        "InvalidAccountDataLength",
        "cannot allocate account data of this length",
    ),
    e(
        "MaxSeedLengthExceeded",
        "length of requested seed is too long",
    ),
    e(
        "AddressWithSeedMismatch",
        "provided address does not match addressed derived from seed",
    ),
    e(
        "NonceNoRecentBlockhashes",
        "advancing stored nonce requires a populated RecentBlockhashes sysvar",
    ),
    e(
        "NonceBlockhashNotExpired",
        "stored nonce is still in recent_blockhashes",
    ),
    e(
        "NonceUnexpectedBlockhashValue",
        "specified nonce does not match stored nonce",
    ),
];

/// `spl_token::error::TokenError` (Token-2022 shares codes 0–19), by code.
const TOKEN_ERRORS: &[KnownError] = &[
    e(
        "NotRentExempt",
        "Lamport balance below rent-exempt threshold",
    ),
    e("InsufficientFunds", "Insufficient funds"),
    e("InvalidMint", "Invalid Mint"),
    e("MintMismatch", "Account not associated with this Mint"),
    e("OwnerMismatch", "Owner does not match"),
    e("FixedSupply", "Fixed supply"),
    e("AlreadyInUse", "Already in use"),
    e(
        "InvalidNumberOfProvidedSigners",
        "Invalid number of provided signers",
    ),
    e(
        "InvalidNumberOfRequiredSigners",
        "Invalid number of required signers",
    ),
    e("UninitializedState", "State is unititialized"),
    e(
        "NativeNotSupported",
        "Instruction does not support native tokens",
    ),
    e(
        "NonNativeHasBalance",
        "Non-native account can only be closed if its balance is zero",
    ),
    e("InvalidInstruction", "Invalid instruction"),
    e("InvalidState", "State is invalid for requested operation"),
    e("Overflow", "Operation overflowed"),
    e(
        "AuthorityTypeNotSupported",
        "Account does not support specified authority type",
    ),
    e("MintCannotFreeze", "This token mint cannot freeze accounts"),
    e("AccountFrozen", "Account is frozen"),
    e(
        "MintDecimalsMismatch",
        "The provided decimals value different from the Mint decimals",
    ),
    e(
        "NonNativeNotSupported",
        "Instruction does not support non-native tokens",
    ),
];

/// `spl_associated_token_account::error::AssociatedTokenAccountError`, by code.
const ATA_ERRORS: &[KnownError] = &[e(
    "InvalidOwner",
    "Associated token account owner does not match address derivation",
)];

/// `solana_vote_interface::error::VoteError`, by code (the first ones; the rest are rare).
const VOTE_ERRORS: &[KnownError] = &[
    e(
        "VoteTooOld",
        "vote already recorded or not in slot hashes history",
    ),
    e("SlotsMismatch", "vote slots do not match bank history"),
    e("SlotHashMismatch", "vote hash does not match bank hash"),
    e("EmptySlots", "vote has no slots, invalid"),
    e("TimestampTooOld", "vote timestamp not recent"),
    e(
        "TooSoonToReauthorize",
        "authorized voter has already been changed this epoch",
    ),
];

/// The Anchor framework's own error codes (`anchor_lang::error::ErrorCode`, below 6000).
const ANCHOR_FRAMEWORK: &[(u32, KnownError)] = &[
    (
        100,
        e(
            "InstructionMissing",
            "8 byte instruction identifier not provided",
        ),
    ),
    (
        101,
        e(
            "InstructionFallbackNotFound",
            "Fallback functions are not supported",
        ),
    ),
    (
        102,
        e(
            "InstructionDidNotDeserialize",
            "The program could not deserialize the given instruction",
        ),
    ),
    (
        103,
        e(
            "InstructionDidNotSerialize",
            "The program could not serialize the given instruction",
        ),
    ),
    (
        1000,
        e(
            "IdlInstructionStub",
            "The program was compiled without idl instructions",
        ),
    ),
    (
        1001,
        e(
            "IdlInstructionInvalidProgram",
            "Invalid program given to the IDL instruction",
        ),
    ),
    (2000, e("ConstraintMut", "A mut constraint was violated")),
    (
        2001,
        e("ConstraintHasOne", "A has one constraint was violated"),
    ),
    (
        2002,
        e("ConstraintSigner", "A signer constraint was violated"),
    ),
    (2003, e("ConstraintRaw", "A raw constraint was violated")),
    (
        2004,
        e("ConstraintOwner", "An owner constraint was violated"),
    ),
    (
        2005,
        e(
            "ConstraintRentExempt",
            "A rent exemption constraint was violated",
        ),
    ),
    (
        2006,
        e("ConstraintSeeds", "A seeds constraint was violated"),
    ),
    (
        2007,
        e(
            "ConstraintExecutable",
            "An executable constraint was violated",
        ),
    ),
    (
        2008,
        e("ConstraintState", "A state constraint was violated"),
    ),
    (
        2009,
        e(
            "ConstraintAssociated",
            "An associated constraint was violated",
        ),
    ),
    (
        2010,
        e(
            "ConstraintAssociatedInit",
            "An associated init constraint was violated",
        ),
    ),
    (
        2011,
        e("ConstraintClose", "A close constraint was violated"),
    ),
    (
        2012,
        e("ConstraintAddress", "An address constraint was violated"),
    ),
    (
        2013,
        e("ConstraintZero", "Expected zero account discriminant"),
    ),
    (
        2014,
        e(
            "ConstraintTokenMint",
            "A token mint constraint was violated",
        ),
    ),
    (
        2015,
        e(
            "ConstraintTokenOwner",
            "A token owner constraint was violated",
        ),
    ),
    (
        2016,
        e(
            "ConstraintMintMintAuthority",
            "A mint mint authority constraint was violated",
        ),
    ),
    (
        2017,
        e(
            "ConstraintMintFreezeAuthority",
            "A mint freeze authority constraint was violated",
        ),
    ),
    (
        2018,
        e(
            "ConstraintMintDecimals",
            "A mint decimals constraint was violated",
        ),
    ),
    (
        2019,
        e("ConstraintSpace", "A space constraint was violated"),
    ),
    (
        3000,
        e(
            "AccountDiscriminatorAlreadySet",
            "The account discriminator was already set on this account",
        ),
    ),
    (
        3001,
        e(
            "AccountDiscriminatorNotFound",
            "No 8 byte discriminator was found on the account",
        ),
    ),
    (
        3002,
        e(
            "AccountDiscriminatorMismatch",
            "8 byte discriminator did not match what was expected",
        ),
    ),
    (
        3003,
        e(
            "AccountDidNotDeserialize",
            "Failed to deserialize the account",
        ),
    ),
    (
        3004,
        e("AccountDidNotSerialize", "Failed to serialize the account"),
    ),
    (
        3005,
        e(
            "AccountNotEnoughKeys",
            "Not enough account keys given to the instruction",
        ),
    ),
    (
        3006,
        e("AccountNotMutable", "The given account is not mutable"),
    ),
    (
        3007,
        e(
            "AccountOwnedByWrongProgram",
            "The given account is owned by a different program than expected",
        ),
    ),
    (
        3008,
        e("InvalidProgramId", "Program ID was not as expected"),
    ),
    (
        3009,
        e(
            "InvalidProgramExecutable",
            "Program account is not executable",
        ),
    ),
    (
        3010,
        e("AccountNotSigner", "The given account did not sign"),
    ),
    (
        3011,
        e(
            "AccountNotSystemOwned",
            "The given account is not owned by the system program",
        ),
    ),
    (
        3012,
        e(
            "AccountNotInitialized",
            "The program expected this account to be already initialized",
        ),
    ),
    (
        3013,
        e(
            "AccountNotProgramData",
            "The given account is not a program data account",
        ),
    ),
    (
        3014,
        e(
            "AccountNotAssociatedTokenAccount",
            "The given account is not the associated token account",
        ),
    ),
    (
        3015,
        e(
            "AccountSysvarMismatch",
            "The given public key does not match the required sysvar",
        ),
    ),
    (
        4000,
        e(
            "StateInvalidAddress",
            "The given state account does not have the correct address",
        ),
    ),
    (
        4100,
        e(
            "DeclaredProgramIdMismatch",
            "The declared program id does not match the actual program id",
        ),
    ),
    (
        5000,
        e(
            "Deprecated",
            "The API being used is deprecated and should no longer be used",
        ),
    ),
];

/// First code of an Anchor program's own `#[error_code]` enum.
pub(crate) const ANCHOR_USER_OFFSET: u32 = 6000;

/// The meaning of `Custom(code)` returned by the well-known program `program`, if known.
pub(crate) fn custom_error(program: &str, code: u32) -> Option<KnownError> {
    let table = match program {
        SYSTEM => SYSTEM_ERRORS,
        TOKEN | TOKEN_2022 => TOKEN_ERRORS,
        ATA => ATA_ERRORS,
        VOTE => VOTE_ERRORS,
        _ => return None,
    };
    table.get(usize::try_from(code).ok()?).copied()
}

/// The Anchor framework error with this code, if there is one. Only meaningful for a program
/// built with Anchor: the caller says so in its message.
pub(crate) fn anchor_framework_error(code: u32) -> Option<KnownError> {
    ANCHOR_FRAMEWORK
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(custom_error(TOKEN, 1).unwrap().name, "InsufficientFunds");
        assert_eq!(custom_error(TOKEN_2022, 17).unwrap().name, "AccountFrozen");
        assert_eq!(custom_error(TOKEN, 20), None);
        assert_eq!(
            custom_error(SYSTEM, 1).unwrap().name,
            "ResultWithNegativeLamports"
        );
        assert_eq!(custom_error(VOTE, 0).unwrap().name, "VoteTooOld");
        assert_eq!(
            custom_error("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4", 0),
            None
        );
        assert_eq!(
            anchor_framework_error(3012).unwrap().name,
            "AccountNotInitialized"
        );
        assert_eq!(anchor_framework_error(6001), None);
        assert_eq!(name(COMPUTE_BUDGET), Some("Compute Budget"));
        // Codes in the Anchor table are unique and ascending.
        assert!(ANCHOR_FRAMEWORK.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
