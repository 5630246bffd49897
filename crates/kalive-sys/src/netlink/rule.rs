//! Policy routing rules: add, delete, list (`virtual_rules`,
//! `static_rules`).

use std::net::IpAddr;

use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleMessage,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};

use super::{Netlink, RTPROT_KEEPALIVED};
use crate::error::{Result, SysError};
use crate::vrrp_socket::Family;

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `table N` / `lookup N`.
    Table(u32),
    /// `goto PRIORITY`.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// A rule (`ip rule add [not] [from P] [to P] [fwmark M[/MASK]] [iif IF]
/// [oif IF] [tos T] [priority N] ACTION [proto P]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Family (needed when neither `from` nor `to` is given).
    pub family: Family,
    /// Source prefix.
    pub from: Option<(IpAddr, u8)>,
    /// Destination prefix.
    pub to: Option<(IpAddr, u8)>,
    /// Priority (`pref`); None lets the kernel choose.
    pub priority: Option<u32>,
    /// Firewall mark and optional mask.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// Input interface name.
    pub iif: Option<String>,
    /// Output interface name.
    pub oif: Option<String>,
    /// TOS selector.
    pub tos: u8,
    /// `not`: invert the match.
    pub invert: bool,
    /// What to do.
    pub action: RuleAction,
    /// Protocol number ([`RTPROT_KEEPALIVED`] by default).
    pub protocol: u8,
}

impl Rule {
    /// A rule sending everything of `family` to `table`; narrow it with
    /// the other fields.
    pub fn to_table(family: Family, table: u32) -> Rule {
        Rule {
            family,
            from: None,
            to: None,
            priority: None,
            fwmark: None,
            iif: None,
            oif: None,
            tos: 0,
            invert: false,
            action: RuleAction::Table(table),
            protocol: RTPROT_KEEPALIVED,
        }
    }

    fn check(&self) -> Result<()> {
        let wrong_family = [self.from, self.to]
            .into_iter()
            .flatten()
            .any(|(addr, _)| Family::of(addr) != self.family);
        if wrong_family {
            return Err(SysError::Invalid(format!(
                "rule {self:?}: prefix of the wrong family"
            )));
        }
        Ok(())
    }

    fn to_message(&self) -> RuleMessage {
        let mut message = RuleMessage::default();
        let header = &mut message.header;
        header.family = match self.family {
            Family::V4 => AddressFamily::Inet,
            Family::V6 => AddressFamily::Inet6,
        };
        header.tos = self.tos;
        header.action = match self.action {
            RuleAction::Table(_) => NlRuleAction::ToTable,
            RuleAction::Goto(_) => NlRuleAction::Goto,
            RuleAction::Nop => NlRuleAction::Nop,
            RuleAction::Blackhole => NlRuleAction::Blackhole,
            RuleAction::Unreachable => NlRuleAction::Unreachable,
            RuleAction::Prohibit => NlRuleAction::Prohibit,
        };
        if self.invert {
            header.flags = RuleFlags::Invert;
        }
        let attributes = &mut message.attributes;
        if let Some((addr, len)) = self.from {
            message.header.src_len = len;
            attributes.push(RuleAttribute::Source(addr));
        }
        if let Some((addr, len)) = self.to {
            message.header.dst_len = len;
            attributes.push(RuleAttribute::Destination(addr));
        }
        match self.action {
            RuleAction::Table(table) => {
                message.header.table = u8::try_from(table).unwrap_or(0);
                attributes.push(RuleAttribute::Table(table));
            }
            RuleAction::Goto(target) => attributes.push(RuleAttribute::Goto(target)),
            _ => {}
        }
        if let Some(priority) = self.priority {
            attributes.push(RuleAttribute::Priority(priority));
        }
        if let Some((mark, mask)) = self.fwmark {
            attributes.push(RuleAttribute::FwMark(mark));
            if let Some(mask) = mask {
                attributes.push(RuleAttribute::FwMask(mask));
            }
        }
        if let Some(iif) = &self.iif {
            attributes.push(RuleAttribute::Iifname(iif.clone()));
        }
        if let Some(oif) = &self.oif {
            attributes.push(RuleAttribute::Oifname(oif.clone()));
        }
        attributes.push(RuleAttribute::Protocol(RouteProtocol::from(self.protocol)));
        message
    }

    fn from_message(message: &RuleMessage) -> Option<Rule> {
        let header = &message.header;
        let family = match header.family {
            AddressFamily::Inet => Family::V4,
            AddressFamily::Inet6 => Family::V6,
            _ => return None,
        };
        let mut rule = Rule::to_table(family, u32::from(header.table));
        rule.tos = header.tos;
        rule.invert = header.flags.contains(RuleFlags::Invert);
        rule.protocol = 0;
        let mut goto_target = 0;
        let mut mark = None;
        let mut mask = None;
        for attribute in &message.attributes {
            match attribute {
                RuleAttribute::Source(addr) => rule.from = Some((*addr, header.src_len)),
                RuleAttribute::Destination(addr) => rule.to = Some((*addr, header.dst_len)),
                RuleAttribute::Table(table) => rule.action = RuleAction::Table(*table),
                RuleAttribute::Goto(target) => goto_target = *target,
                RuleAttribute::Priority(priority) => rule.priority = Some(*priority),
                RuleAttribute::FwMark(m) => mark = Some(*m),
                RuleAttribute::FwMask(m) => mask = Some(*m),
                RuleAttribute::Iifname(name) => rule.iif = Some(name.clone()),
                RuleAttribute::Oifname(name) => rule.oif = Some(name.clone()),
                RuleAttribute::Protocol(protocol) => rule.protocol = u8::from(*protocol),
                _ => {}
            }
        }
        rule.fwmark = mark.map(|mark| (mark, mask));
        rule.action = match header.action {
            NlRuleAction::Goto => RuleAction::Goto(goto_target),
            NlRuleAction::Nop => RuleAction::Nop,
            NlRuleAction::Blackhole => RuleAction::Blackhole,
            NlRuleAction::Unreachable => RuleAction::Unreachable,
            NlRuleAction::Prohibit => RuleAction::Prohibit,
            _ => rule.action,
        };
        Some(rule)
    }
}

impl Netlink {
    /// Adds a rule; fails with [`crate::SysError::is_already_exists`] if an
    /// identical one exists.
    pub async fn add_rule(&self, rule: &Rule) -> Result<()> {
        rule.check()?;
        self.change(
            format!("add rule {rule:?}"),
            RouteNetlinkMessage::NewRule(rule.to_message()),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    /// Deletes a rule; fails with [`crate::SysError::is_not_found`] if
    /// there is none.
    pub async fn del_rule(&self, rule: &Rule) -> Result<()> {
        rule.check()?;
        self.change(
            format!("delete rule {rule:?}"),
            RouteNetlinkMessage::DelRule(rule.to_message()),
            0,
        )
        .await
    }

    /// Every rule of one family.
    pub async fn list_rules(&self, family: Family) -> Result<Vec<Rule>> {
        let mut request = RuleMessage::default();
        request.header.family = match family {
            Family::V4 => AddressFamily::Inet,
            Family::V6 => AddressFamily::Inet6,
        };
        let answers = self
            .dump(
                format!("dump {family:?} rules"),
                RouteNetlinkMessage::GetRule(request),
            )
            .await?;
        Ok(answers
            .iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewRule(message) => Rule::from_message(message),
                _ => None,
            })
            .filter(|rule| rule.family == family)
            .collect())
    }
}
